/** The only module that touches onnxruntime-node: sessions, execution providers, inference. */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { ModelError, UsageError } from './errors.js';
import { messages } from './messages.js';
import type { NetworkModel } from './catalog.js';

// Failures reach the user as one line from us; onnxruntime's own log would repeat them with a native trace.
ort.env.logLevel = 'fatal';

export type Device = 'auto' | 'cpu' | 'cuda' | 'webgpu';
export const DEVICES: readonly Device[] = ['auto', 'cpu', 'cuda', 'webgpu'];

export interface Network {
  readonly name: string;
  readonly scale: number;
  readonly device: Exclude<Device, 'auto'>;
  /** Runs one float32 NCHW RGB tensor; resolves to the output tensor at `scale`. Runs are serialised. */
  run(tensor: Float32Array, width: number, height: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/** CUDA's provider libraries are not in the npm package; they exist only after the opt-in install. */
function cudaInstalled(): boolean {
  const require = createRequire(import.meta.url);
  const binding = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(binding, 'libonnxruntime_providers_cuda.so')) || existsSync(join(binding, 'onnxruntime_providers_cuda.dll'));
}

function sessionOptions(device: Exclude<Device, 'auto'>): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
  };
}

async function createSession(path: string, device: Exclude<Device, 'auto'>): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, sessionOptions(device));
}

export interface LoadOptions {
  device: Device;
  /** Called once with the line saying which device `auto` chose. */
  onDeviceChosen?: (line: string) => void;
}

interface OpenedSession {
  session: ort.InferenceSession;
  device: Exclude<Device, 'auto'>;
  /** Under `auto`, the line saying which device was chosen and why. */
  notice?: string;
}

async function openSession(model: NetworkModel, options: LoadOptions): Promise<OpenedSession> {
  const { device } = options;
  const open = async (chosen: Exclude<Device, 'auto'>) => {
    try {
      return await createSession(model.path, chosen);
    } catch (error) {
      if (chosen !== 'cpu') throw new UsageError(messages.deviceUnavailable(chosen, availableDevices()));
      throw new ModelError(messages.modelNotOnnx(model.name, firstLine(error)));
    }
  };
  if (device !== 'auto') return { session: await open(device), device };
  if (cudaInstalled()) {
    try {
      const session = await createSession(model.path, 'cuda');
      return { session, device: 'cuda', notice: messages.deviceChosen('cuda', 'CUDA provider installed') };
    } catch (error) {
      return { session: await open('cpu'), device: 'cpu', notice: messages.deviceChosen('cpu', `CUDA failed to start: ${firstLine(error)}`) };
    }
  }
  return { session: await open('cpu'), device: 'cpu', notice: messages.deviceChosen('cpu', 'no CUDA provider installed; see README "GPU"') };
}

function availableDevices(): string[] {
  return ['cpu', ...(cudaInstalled() ? ['cuda'] : []), 'webgpu (where an adapter exists)'];
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0]!.trim();
}

/** Loads a network and checks it is an upscaler: one [1,3,H,W] float input, output a whole multiple of it. */
export async function loadNetwork(model: NetworkModel, options: LoadOptions): Promise<Network> {
  if (!existsSync(model.path)) throw new UsageError(messages.modelNotOnnx(model.name, 'file not found'));
  const { session, device, notice } = await openSession(model, options);
  const input = session.inputMetadata[0];
  const shape = input && input.isTensor ? input.shape : undefined;
  if (
    session.inputNames.length !== 1 ||
    !input?.isTensor ||
    input.type !== 'float32' ||
    shape?.length !== 4 ||
    (typeof shape[0] === 'number' && shape[0] !== 1) ||
    (typeof shape[1] === 'number' && shape[1] !== 3)
  ) {
    await session.release();
    const described = input?.isTensor ? `${input.type} [${input.shape.join(',')}]` : 'a non-tensor input';
    throw new UsageError(messages.modelBadInput(model.name, session.inputNames.length === 1 ? described : `${session.inputNames.length} inputs`));
  }
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  let queue: Promise<unknown> = Promise.resolve();

  const infer = async (tensor: Float32Array, width: number, height: number) => {
    const feeds = { [inputName]: new ort.Tensor('float32', tensor, [1, 3, height, width]) };
    const result = await session.run(feeds);
    const output = result[outputName]!;
    const [, channels, outHeight, outWidth] = output.dims as number[];
    const data = output.data as Float32Array;
    output.dispose?.();
    return { data, channels: channels!, outWidth: outWidth!, outHeight: outHeight! };
  };

  const scale = model.scale ?? (await probeScale(model, infer, session));
  // Said only once the model is known to work, so a broken model's error stands alone.
  if (notice) options.onDeviceChosen?.(notice);
  return {
    name: model.name,
    scale,
    device,
    run(tensor, width, height) {
      const next = queue.then(async () => {
        try {
          return (await infer(tensor, width, height)).data;
        } catch (error) {
          throw new ModelError(messages.modelRunFailed(model.name, firstLine(error)));
        }
      });
      queue = next.catch(() => undefined);
      return next;
    },
    release: () => session.release(),
  };
}

/** A custom model's scale: run a small probe and compare sizes; it must be a whole number. */
async function probeScale(
  model: NetworkModel,
  infer: (t: Float32Array, w: number, h: number) => Promise<{ channels: number; outWidth: number; outHeight: number }>,
  session: ort.InferenceSession,
): Promise<number> {
  const size = 16;
  let probe: { channels: number; outWidth: number; outHeight: number };
  try {
    probe = await infer(new Float32Array(3 * size * size).fill(0.5), size, size);
  } catch (error) {
    await session.release();
    throw new UsageError(messages.modelNotOnnx(model.name, firstLine(error)));
  }
  const ratio = probe.outWidth / size;
  if (probe.channels !== 3 || !Number.isInteger(ratio) || ratio < 1 || probe.outHeight !== size * ratio) {
    await session.release();
    if (probe.channels !== 3) throw new UsageError(messages.modelBadInput(model.name, `an output of ${probe.channels} channels`));
    throw new UsageError(messages.modelBadScale(model.name, `${probe.outWidth / size} x ${probe.outHeight / size}`));
  }
  return ratio;
}
