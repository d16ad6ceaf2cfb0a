/**
 * The only module that touches onnxruntime-node: sessions, execution providers, inference.
 *
 * onnxruntime-node's `session.run` blocks the calling thread for the whole forward pass, so sessions live in a
 * child process: the main thread stays free to decode and encode other images, draw progress and answer Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { spawn, type ChildProcess } from 'node:child_process';
import type { InferenceSession } from 'onnxruntime-node';
import { errorLine, ModelError, UsageError } from './errors.js';
import { messages } from './messages.js';
import type { NetworkModel } from './catalog.js';

export type Device = 'auto' | 'cpu' | 'cuda' | 'webgpu';
export const DEVICES: readonly Device[] = ['auto', 'cpu', 'cuda', 'webgpu'];
type ConcreteDevice = Exclude<Device, 'auto'>;

export interface Network {
  readonly name: string;
  readonly scale: number;
  readonly device: ConcreteDevice;
  /** Runs one float32 NCHW RGB tensor; resolves to the output tensor at `scale`. Runs are serialised. */
  run(tensor: Float32Array, width: number, height: number): Promise<Float32Array>;
  release(): Promise<void>;
}

const require = createRequire(import.meta.url);
const ortEntry = require.resolve('onnxruntime-node');

/** CUDA's provider libraries are not in the npm package; they exist only after the opt-in install. */
function cudaInstalled(): boolean {
  const binding = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(binding, 'libonnxruntime_providers_cuda.so')) || existsSync(join(binding, 'onnxruntime_providers_cuda.dll'));
}

function sessionOptions(device: ConcreteDevice): InferenceSession.SessionOptions {
  return {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
  };
}

/**
 * The inference process's code. Kept as source text here, rather than in a file of its own, so the same code runs
 * from the TypeScript sources under test and from the compiled package. It owns one session and answers numbered
 * requests over the IPC channel.
 */
const CHILD_SOURCE = `
const ort = require(process.argv[1]);
// Failures reach the user as one line from us; onnxruntime's own log would repeat them with a native trace.
ort.env.logLevel = 'fatal';
// Ctrl-C reaches the whole process group: the parent decides whether this process finishes its tile or is killed.
process.on('SIGINT', () => {});
process.on('disconnect', () => process.exit(0));
let session;
process.on('message', async ({ id, type, path, options, data, dims }) => {
  try {
    if (type === 'open') {
      session = await ort.InferenceSession.create(path, options);
      const inputs = session.inputMetadata.map((m) => ({ isTensor: m.isTensor, type: m.type, shape: m.shape }));
      process.send({ id, inputNames: session.inputNames, outputNames: session.outputNames, inputs });
    } else if (type === 'run') {
      const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
      const output = result[session.outputNames[0]];
      process.send({ id, data: output.data, dims: output.dims });
    } else if (type === 'release') {
      await session?.release();
      process.send({ id });
    }
  } catch (error) {
    process.send({ id, error: String(error && error.message ? error.message : error) });
  }
});
`;

interface Reply {
  id: number;
  error?: string;
  inputNames?: string[];
  outputNames?: string[];
  inputs?: { isTensor: boolean; type?: string; shape?: (number | string)[] }[];
  data?: Float32Array;
  dims?: number[];
}

/** Inference processes alive now, so a hard stop can kill them (see `killInference`). */
const children = new Set<ChildProcess>();

/** Ends every inference at once, mid-run: for a second Ctrl-C, when waiting is not wanted. */
export function killInference(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/**
 * One child process holding one onnxruntime session; requests are answered in order. A process rather than a
 * worker thread, because a thread stuck in a native forward pass cannot be stopped without aborting the program,
 * while a process can simply be killed.
 */
class SessionWorker {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  private next = 0;

  constructor() {
    this.child = spawn(process.execPath, ['-e', CHILD_SOURCE, ortEntry], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    children.add(this.child);
    this.child.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      this.idleUnlessBusy();
      if (reply.error !== undefined) waiter?.reject(new Error(reply.error));
      else waiter?.resolve(reply);
    });
    this.child.on('error', (error) => this.failAll(error));
    this.child.on('exit', (code, signal) => {
      children.delete(this.child);
      this.failAll(new Error(`inference process ended (${signal ?? `exit code ${code}`})`));
    });
    this.idleUnlessBusy();
  }

  /** An idle inference process must not keep the program alive; one with work pending must. */
  private idleUnlessBusy(): void {
    const channel = this.child.channel as { ref(): void; unref(): void } | undefined;
    if (this.pending.size === 0) {
      this.child.unref();
      channel?.unref();
    } else {
      this.child.ref();
      channel?.ref();
    }
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  request(message: Record<string, unknown>): Promise<Reply> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.idleUnlessBusy();
      this.child.send({ ...message, id });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.connected) await this.request({ type: 'release' }).catch(() => undefined);
    if (this.child.connected) this.child.disconnect();
    children.delete(this.child);
  }
}

async function openOn(path: string, device: ConcreteDevice): Promise<{ worker: SessionWorker; reply: Reply }> {
  const worker = new SessionWorker();
  try {
    return { worker, reply: await worker.request({ type: 'open', path, options: sessionOptions(device) }) };
  } catch (error) {
    await worker.close();
    throw error;
  }
}

export interface LoadOptions {
  device: Device;
  /** Called once with the line saying which device `auto` chose. */
  onDeviceChosen?: (line: string) => void;
}

interface OpenedSession {
  worker: SessionWorker;
  reply: Reply;
  device: ConcreteDevice;
  /** Under `auto`, the line saying which device was chosen and why. */
  notice?: string;
}

async function openSession(model: NetworkModel, options: LoadOptions): Promise<OpenedSession> {
  const { device } = options;
  const open = async (chosen: ConcreteDevice) => {
    try {
      return await openOn(model.path, chosen);
    } catch (error) {
      if (chosen !== 'cpu') throw new UsageError(messages.deviceUnavailable(chosen, availableDevices()));
      throw new ModelError(messages.modelNotOnnx(model.name, errorLine(error)));
    }
  };
  if (device !== 'auto') return { ...(await open(device)), device };
  if (cudaInstalled()) {
    try {
      return { ...(await openOn(model.path, 'cuda')), device: 'cuda', notice: messages.deviceChosen('cuda', 'CUDA provider installed') };
    } catch (error) {
      return { ...(await open('cpu')), device: 'cpu', notice: messages.deviceChosen('cpu', `CUDA failed to start: ${errorLine(error)}`) };
    }
  }
  return { ...(await open('cpu')), device: 'cpu', notice: messages.deviceChosen('cpu', 'no CUDA provider installed; see README "GPU"') };
}

function availableDevices(): string[] {
  return ['cpu', ...(cudaInstalled() ? ['cuda'] : []), 'webgpu (where an adapter exists)'];
}

/** Loads a network and checks it is an upscaler: one [1,3,H,W] float input, output a whole multiple of it. */
export async function loadNetwork(model: NetworkModel, options: LoadOptions): Promise<Network> {
  if (!existsSync(model.path)) throw new UsageError(messages.modelNotOnnx(model.name, 'file not found'));
  const { worker, reply, device, notice } = await openSession(model, options);
  const input = reply.inputs?.[0];
  const shape = input?.shape;
  if (
    reply.inputNames?.length !== 1 ||
    !input?.isTensor ||
    input.type !== 'float32' ||
    shape?.length !== 4 ||
    (typeof shape[0] === 'number' && shape[0] !== 1) ||
    (typeof shape[1] === 'number' && shape[1] !== 3)
  ) {
    await worker.close();
    const described = input?.isTensor ? `${input.type} [${shape?.join(',')}]` : 'a non-tensor input';
    throw new UsageError(messages.modelBadInput(model.name, reply.inputNames?.length === 1 ? described : `${reply.inputNames?.length} inputs`));
  }

  const infer = async (tensor: Float32Array, width: number, height: number) => {
    const result = await worker.request({ type: 'run', data: tensor, dims: [1, 3, height, width] });
    const [, channels, outHeight, outWidth] = result.dims!;
    return { data: result.data!, channels: channels!, outWidth: outWidth!, outHeight: outHeight! };
  };

  let scale = model.scale;
  if (scale === undefined) {
    try {
      scale = await probeScale(model, infer);
    } catch (error) {
      await worker.close();
      throw error;
    }
  }
  // Said only once the model is known to work, so a broken model's error stands alone.
  if (notice) options.onDeviceChosen?.(notice);
  return {
    name: model.name,
    scale,
    device,
    async run(tensor, width, height) {
      try {
        return (await infer(tensor, width, height)).data;
      } catch (error) {
        throw new ModelError(messages.modelRunFailed(model.name, errorLine(error)));
      }
    },
    release: () => worker.close(),
  };
}

/** A custom model's scale: run a small probe and compare sizes; it must be a whole number. */
async function probeScale(
  model: NetworkModel,
  infer: (t: Float32Array, w: number, h: number) => Promise<{ channels: number; outWidth: number; outHeight: number }>,
): Promise<number> {
  const size = 16;
  let probe: { channels: number; outWidth: number; outHeight: number };
  try {
    probe = await infer(new Float32Array(3 * size * size).fill(0.5), size, size);
  } catch (error) {
    throw new UsageError(messages.modelNotOnnx(model.name, errorLine(error)));
  }
  const ratio = probe.outWidth / size;
  if (probe.channels !== 3) throw new UsageError(messages.modelBadInput(model.name, `an output of ${probe.channels} channels`));
  if (!Number.isInteger(ratio) || ratio < 1 || probe.outHeight !== size * ratio) {
    throw new UsageError(messages.modelBadScale(model.name, `${probe.outWidth / size} x ${probe.outHeight / size}`));
  }
  return ratio;
}
