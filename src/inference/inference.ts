/**
 * The inference runtime: sessions, execution providers, inference. With the program of its process,
 * inference-child.cjs, the only code that touches onnxruntime-node.
 *
 * onnxruntime-node's `session.run` blocks the calling thread for the whole forward pass, so sessions live in a
 * child process: the main thread stays free to decode and encode other images, draw progress and answer Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { InferenceSession } from 'onnxruntime-node';
import { errorLine, ModelError, ProcessLostError, UsageError } from '../core/errors.js';
import { messages } from '../core/messages.js';
import type { NetworkModel } from '../models/catalog.js';
import type { Image } from '../core/image.js';
import type { Feed, Reply as ChildReply, RequestBody } from './protocol.js';
import { trackChild } from '../files/leftovers.js';

const require = createRequire(import.meta.url);

/** CUDA's provider libraries are not in the npm package; they exist only after the opt-in install. */
function cudaInstalled(): boolean {
  const binding = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(binding, 'libonnxruntime_providers_cuda.so')) || existsSync(join(binding, 'onnxruntime_providers_cuda.dll'));
}

interface Provider {
  /** onnxruntime's name for the execution provider. */
  readonly name: string;
  /** The device in a sentence. */
  readonly label: string;
  /** Whether its provider is here, as far as can be told without opening a session. */
  readonly installed: () => boolean;
  /** What else it needs, which only opening a session tells. */
  readonly proviso?: string;
}

/** Each device's onnxruntime execution provider, and how to tell that it can run here. */
const PROVIDERS = {
  cpu: { name: 'cpu', label: 'CPU', installed: () => true },
  cuda: { name: 'cuda', label: 'CUDA', installed: cudaInstalled },
  webgpu: { name: 'webgpu', label: 'WebGPU', installed: () => true, proviso: 'where an adapter exists' },
} as const satisfies Record<string, Provider>;

type ConcreteDevice = keyof typeof PROVIDERS;
export type Device = 'auto' | ConcreteDevice;
export const DEVICES = ['auto', ...(Object.keys(PROVIDERS) as ConcreteDevice[])] as const satisfies readonly Device[];

/** What `auto` tries, in order: the first whose session opens is used; the last is the fallback, its failure the error. */
const AUTO = ['cuda', 'cpu'] as const satisfies readonly ConcreteDevice[];

/**
 * What a run of a network with global poolings (the U-Nets' squeeze-and-excitation blocks) is given for pool k: the
 * mean to use instead of the window's own (undefined: its own), and the region of the pooled feature map to sum
 * (first row, end row, first column, end column, in the window's map).
 */
export interface PoolFeeds {
  means: readonly (Float32Array | undefined)[];
  regions: readonly (readonly [number, number, number, number])[];
}

/** Per pool: the feature map summed over the region asked for, and the pixels in it. */
export interface PoolSums {
  sums: Float32Array[];
  counts: number[];
}

export interface Network {
  readonly name: string;
  readonly scale: number;
  readonly device: ConcreteDevice;
  readonly precision: ConcretePrecision;
  /**
   * Runs one float32 NCHW RGB tensor in [0, 1]. Resolves to the output at `scale` as interleaved (HWC) RGB
   * samples of the output's `depth`, rounded and clamped: a quarter (8-bit) or half (16-bit) of float32's bytes to
   * move between processes. Runs are serialised. `into`, when its type and size match the output, receives the
   * pixels instead of a new buffer.
   */
  run(tensor: Float32Array, width: number, height: number, depth: Image['depth'], into?: Image['data'], pools?: PoolFeeds): Promise<Image['data']>;
  /** Runs one tile for its pooling sums alone; no pixels come back. */
  sumPools(tensor: Float32Array, width: number, height: number, pools: PoolFeeds): Promise<PoolSums>;
  /**
   * The network that runs planes of this sample depth: this one, or under int8 for 16-bit planes the float32 network
   * (the int8 model reads 8-bit samples), opened the first time it is needed and released with this one.
   */
  forDepth(depth: Image['depth']): Promise<Network>;
  release(): Promise<void>;
}

type ConcretePrecision = 'fp32' | 'int8';
export type Precision = 'auto' | ConcretePrecision;
/** fp32 first: the default, the same picture on every CPU; int8 and auto trade fidelity for speed when asked. */
export const PRECISIONS = ['fp32', 'int8', 'auto'] as const satisfies readonly Precision[];

/** The `pool<k>.use`, `.mean` and `.region` inputs, in order, as the network takes them; none given: the plain network. */
function poolInputs(channels: readonly number[], pools?: PoolFeeds): Feed[] {
  return channels.flatMap((c, k) => {
    const mean = pools?.means[k];
    const region = pools?.regions[k] ?? [0, Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER];
    return [
      { name: `pool${k}.use`, type: 'bool', data: Uint8Array.of(mean ? 1 : 0), dims: [] },
      { name: `pool${k}.mean`, type: 'float32', data: mean ?? new Float32Array(c), dims: [1, c, 1, 1] },
      { name: `pool${k}.region`, type: 'int64', data: BigInt64Array.from(region, (v) => BigInt(v)), dims: [4] },
    ];
  });
}

/**
 * The channel counts of a network's openable poolings, when every input after the image is one of `pool<k>.use`,
 * `.mean` ([1,C,1,1]) and `.region`, k counting from 0 in threes; undefined when the inputs are anything else.
 */
function poolsOf(inputNames: readonly string[], inputs: NonNullable<Reply['inputs']>): number[] | undefined {
  const rest = inputNames.slice(1);
  if (rest.length % 3 !== 0) return undefined;
  const channels: number[] = [];
  for (let k = 0; k < rest.length / 3; k++) {
    const names = rest.slice(3 * k, 3 * k + 3);
    const mean = inputs[1 + 3 * k + 1]?.shape;
    if (names.join() !== `pool${k}.use,pool${k}.mean,pool${k}.region` || typeof mean?.[1] !== 'number') return undefined;
    channels.push(mean[1]);
  }
  return channels;
}

function sessionOptions(device: ConcreteDevice): InferenceSession.SessionOptions {
  return {
    executionProviders: [PROVIDERS[device].name],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // The memory pattern pre-plans one block for every intermediate of a shape and keeps it: about 70 MiB more at a
    // 322 px window, and no faster (measured on x4v3 and x4plus).
    enableMemPattern: false,
    // Threads that spin while waiting for work take cores from the other process and from other programs: spinning off
    // took 0.85× the time on a busy host and 0.94× (within noise) on a quiet one (x4v3 256², interleaved).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/**
 * The inference process's program: a JavaScript file beside this module, so the path holds for the TypeScript
 * sources under test and for the compiled package alike.
 */
const CHILD = fileURLToPath(new URL('./inference-child.cjs', import.meta.url));

/** A reply as the parent holds it: the pixels read from their pipe join it. */
type Reply = ChildReply & { pixels?: Image['data'] };

/**
 * One child process holding one onnxruntime session; requests are answered in order. A process rather than a
 * worker thread, because a thread stuck in a native forward pass cannot be stopped without aborting the program,
 * while a process can simply be killed.
 */
class SessionWorker {
  private readonly child: ChildProcess;
  private readonly pixelPipe: Socket;
  private readonly pending = new Map<
    number,
    { resolve: (reply: Reply) => void; reject: (error: Error) => void; samples?: Image['depth']; into?: Image['data'] }
  >();
  /** Replies whose pixels are still arriving, in the order the pixels come. */
  private readonly arriving: { target: Uint8Array; filled: number; finish: () => void; fail: (error: Error) => void }[] = [];
  /** Pixel bytes that came before the reply they belong to. */
  private readonly early: Buffer[] = [];
  private next = 0;

  constructor() {
    // fd 4 carries tile pixels as raw bytes: no serialising, and no copy beyond the one into the tile's buffer.
    // --single-threaded: onnxruntime brings its own threads; V8's helper threads only cost memory (about 18 MiB).
    this.child = spawn(process.execPath, ['--single-threaded', '--expose-gc', CHILD], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc', 'pipe'],
      serialization: 'advanced',
    });
    this.pixelPipe = this.child.stdio[4] as Socket;
    trackChild(this.child);
    this.child.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      const settle = () => {
        this.idleUnlessBusy();
        if (reply.error !== undefined) waiter?.reject(new Error(reply.error));
        else waiter?.resolve(reply);
      };
      if (!reply.bytes) return settle();
      const into = waiter?.into;
      const Samples = waiter?.samples === 16 ? Uint16Array : Uint8Array;
      const pixels = into instanceof Samples && into.byteLength === reply.bytes ? into : new Samples(reply.bytes / Samples.BYTES_PER_ELEMENT);
      reply.pixels = pixels;
      this.arriving.push({ target: new Uint8Array(pixels.buffer), filled: 0, finish: settle, fail: (error) => waiter?.reject(error) });
      this.takePixels();
    });
    this.pixelPipe.on('data', (chunk: Buffer) => {
      this.early.push(chunk);
      this.takePixels();
    });
    this.child.on('error', (error) => this.failAll(error));
    this.child.on('exit', (code, signal) => {
      this.failAll(new ProcessLostError(`inference process ended (${signal ?? `exit code ${code}`})`));
    });
    this.idleUnlessBusy();
  }

  /** Moves received pixel bytes into the buffers of the replies waiting for them. */
  private takePixels(): void {
    while (this.arriving.length > 0 && this.early.length > 0) {
      const payload = this.arriving[0]!;
      const chunk = this.early[0]!;
      const taken = Math.min(chunk.length, payload.target.length - payload.filled);
      payload.target.set(chunk.subarray(0, taken), payload.filled);
      payload.filled += taken;
      if (taken === chunk.length) this.early.shift();
      else this.early[0] = chunk.subarray(taken);
      if (payload.filled === payload.target.length) {
        this.arriving.shift();
        payload.finish();
      }
    }
  }

  /** An idle inference process must not keep the program alive; one with work pending must. */
  private idleUnlessBusy(): void {
    const channel = this.child.channel as { ref(): void; unref(): void } | undefined;
    if (this.pending.size === 0 && this.arriving.length === 0) {
      this.child.unref();
      channel?.unref();
      this.pixelPipe.unref();
    } else {
      this.child.ref();
      channel?.ref();
      this.pixelPipe.ref();
    }
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    for (const payload of this.arriving) payload.fail(error);
    this.pending.clear();
    this.arriving.length = 0;
  }

  /**
   * Sends a request. A run's pixels arrive as `samples`-bit values, into `into` if it is of that type and size.
   */
  request(message: RequestBody, samples?: Image['depth'], into?: Image['data']): Promise<Reply> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, samples, into });
      this.idleUnlessBusy();
      this.child.send({ ...message, id });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.connected) await this.request({ type: 'release' }).catch(() => undefined);
    if (this.child.connected) this.child.disconnect();
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
  precision: Precision;
  /** Whether the CPU counts as having VNNI (cpu.ts), for `precision: 'auto'`. */
  vnni: boolean;
  /** How messages name the model, device and precision options (`model` or `--model`). */
  optionName: (key: 'model' | 'device' | 'precision') => string;
  /** Called with the line saying which device and precision run and why, when either was chosen here. */
  onNotice?: (line: string) => void;
}

interface OpenedSession {
  worker: SessionWorker;
  reply: Reply;
  device: ConcreteDevice;
  precision: ConcretePrecision;
  /** The line saying which device and precision were chosen and why. */
  notice?: string;
}

/**
 * The precision on the CPU, and why. int8 is a CPU path: onnxruntime's GPU providers have no integer convolutions.
 * The options have been checked: an int8 request names a network that has an int8 form.
 */
export function cpuPrecision(model: NetworkModel, requested: Precision, vnni: boolean, option: string): { precision: ConcretePrecision; why?: string } {
  if (requested === 'fp32' || !model.int8) return { precision: 'fp32' };
  if (requested === 'int8') return { precision: 'int8', ...(!vnni && { why: messages.int8NoVnni() }) };
  if (!vnni) return { precision: 'fp32', why: messages.int8NeedsVnni(option) };
  return { precision: 'int8', why: messages.int8Chosen(model.int8.worstPsnr, model.int8.medianPsnr, option) };
}

async function openSession(model: NetworkModel, options: LoadOptions): Promise<OpenedSession> {
  const open = async (device: ConcreteDevice, path = model.path) => {
    try {
      return await openOn(path, device);
    } catch (error) {
      if (device !== 'cpu') throw new UsageError(messages.deviceUnavailable(options.optionName('device'), device, availableDevices()));
      throw new ModelError(messages.modelNotOnnx(options.optionName('model'), model.name, errorLine(error)));
    }
  };
  const onCpu = async (reasons: string[]) => {
    const { precision, why } = cpuPrecision(model, options.precision, options.vnni, options.optionName('precision'));
    const all = why ? [...reasons, why] : reasons;
    const notice = options.device === 'auto' || why ? messages.deviceChosen('cpu', precision, all.join('; ')) : undefined;
    return { ...(await open('cpu', precision === 'int8' ? model.int8!.path : model.path)), device: 'cpu' as const, precision, ...(notice && { notice }) };
  };
  if (options.device === 'cpu') return onCpu([]);
  if (options.device !== 'auto') return { ...(await open(options.device)), device: options.device, precision: 'fp32' };
  // int8 runs on the CPU only, so asking for it settles the device.
  if (options.precision === 'int8') return onCpu([messages.int8OnCpu()]);
  const passedOver: string[] = [];
  for (const device of AUTO.slice(0, -1)) {
    const { label, installed } = PROVIDERS[device];
    if (!installed()) {
      passedOver.push(messages.providerMissing(label));
      continue;
    }
    try {
      const opened = await openOn(model.path, device);
      return { ...opened, device, precision: 'fp32', notice: messages.deviceChosen(device, 'fp32', [...passedOver, messages.providerInstalled(label)].join('; ')) };
    } catch (error) {
      passedOver.push(messages.providerFailed(label, errorLine(error)));
    }
  }
  return onCpu(passedOver);
}

/** The devices `--device` could name here, for its error. */
function availableDevices(): string[] {
  return Object.entries(PROVIDERS)
    .filter(([, provider]) => provider.installed())
    .map(([device, provider]: [string, Provider]) => (provider.proviso ? `${device} (${provider.proviso})` : device));
}

/** Loads a network and checks it is an upscaler: one [1,3,H,W] float input, output a whole multiple of it. */
export async function loadNetwork(model: NetworkModel, options: LoadOptions): Promise<Network> {
  if (!existsSync(model.path)) throw new UsageError(messages.modelNotOnnx(options.optionName('model'), model.name, 'file not found'));
  const { worker, reply, device, precision, notice } = await openSession(model, options);
  const input = reply.inputs?.[0];
  const shape = input?.shape;
  const pools = reply.inputNames && reply.inputs ? poolsOf(reply.inputNames, reply.inputs) : undefined;
  if (
    pools === undefined ||
    !input?.isTensor ||
    input.type !== 'float32' ||
    shape?.length !== 4 ||
    (typeof shape[0] === 'number' && shape[0] !== 1) ||
    (typeof shape[1] === 'number' && shape[1] !== 3)
  ) {
    await worker.close();
    const described = input?.isTensor ? `${input.type} [${shape?.join(',')}]` : 'a non-tensor input';
    throw new UsageError(messages.modelBadInput(options.optionName('model'), model.name, pools !== undefined ? described : `${reply.inputNames?.length} inputs`));
  }

  const infer = async (tensor: Float32Array, width: number, height: number, depth: Image['depth'], into?: Image['data'], feeds?: PoolFeeds) => {
    const request: RequestBody = { type: 'run', data: tensor, dims: [1, 3, height, width], depth, feeds: poolInputs(pools, feeds) };
    const result = await worker.request(request, depth, into);
    const [, channels, outHeight, outWidth] = result.dims!;
    return { pixels: result.pixels ?? new Uint8Array(0), channels: channels!, outWidth: outWidth!, outHeight: outHeight! };
  };

  let scale = model.scale;
  if (scale === undefined) {
    try {
      scale = await probeScale(model, options.optionName('model'), infer);
    } catch (error) {
      await worker.close();
      throw error;
    }
  }
  // Said only once the model is known to work, so a broken model's error stands alone.
  if (notice) options.onNotice?.(notice);
  let wide: Promise<Network> | undefined;
  const network: Network = {
    name: model.name,
    scale,
    device,
    precision,
    async run(tensor, width, height, depth, into, feeds) {
      try {
        return (await infer(tensor, width, height, depth, into, feeds)).pixels;
      } catch (error) {
        throw new ModelError(messages.modelRunFailed(model.name, errorLine(error)));
      }
    },
    async sumPools(tensor, width, height, feeds) {
      try {
        const request: RequestBody = { type: 'run', data: tensor, dims: [1, 3, height, width], depth: 8, feeds: poolInputs(pools, feeds), pixels: false };
        const { outputs = {} } = await worker.request(request);
        return { sums: pools.map((_, k) => outputs[`pool${k}.sum`]!), counts: pools.map((_, k) => outputs[`pool${k}.count`]![0]!) };
      } catch (error) {
        throw new ModelError(messages.modelRunFailed(model.name, errorLine(error)));
      }
    },
    forDepth(depth) {
      if (precision === 'fp32' || depth === 8) return Promise.resolve(network);
      wide ??= loadNetwork(model, { ...options, device, precision: 'fp32' }).then((fp32) => {
        options.onNotice?.(messages.sixteenBitInFp32());
        return fp32;
      });
      return wide;
    },
    async release() {
      await Promise.all([worker.close(), wide?.then((fp32) => fp32.release())]);
    },
  };
  return network;
}

/** A custom model's scale: run a small probe and compare sizes; it must be a whole number. */
async function probeScale(
  model: NetworkModel,
  option: string,
  infer: (t: Float32Array, w: number, h: number, depth: Image['depth']) => Promise<{ channels: number; outWidth: number; outHeight: number }>,
): Promise<number> {
  const size = 16;
  let probe: { channels: number; outWidth: number; outHeight: number };
  try {
    probe = await infer(new Float32Array(3 * size * size).fill(0.5), size, size, 8);
  } catch (error) {
    throw new UsageError(messages.modelNotOnnx(option, model.name, errorLine(error)));
  }
  const ratio = probe.outWidth / size;
  if (probe.channels !== 3) throw new UsageError(messages.modelBadInput(option, model.name, `an output of ${probe.channels} channels`));
  if (!Number.isInteger(ratio) || ratio < 1 || probe.outHeight !== size * ratio) {
    throw new UsageError(messages.modelBadScale(option, model.name, `${probe.outWidth / size} x ${probe.outHeight / size}`));
  }
  return ratio;
}

type Values = Float32Array | Float64Array | Uint8Array;

/** A graph run in this process, on whole tensors: for the model build, which calibrates and measures the int8 models. */
export interface Graph {
  run(inputs: Record<string, { data: Values; dims: number[] }>): Promise<Record<string, { data: Values; dims: readonly number[] }>>;
  release(): Promise<void>;
}

export async function openGraph(model: Uint8Array): Promise<Graph> {
  const ort = (await import('onnxruntime-node')).default;
  const session = await ort.InferenceSession.create(model, sessionOptions('cpu'));
  const types = { Float32Array: 'float32', Float64Array: 'float64', Uint8Array: 'uint8' } as const;
  return {
    async run(inputs) {
      const feeds = Object.fromEntries(
        Object.entries(inputs).map(([name, { data, dims }]) => [name, new ort.Tensor(types[data.constructor.name as keyof typeof types], data, dims)]),
      );
      const outputs = await session.run(feeds);
      return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, { data: t.data as Values, dims: t.dims }]));
    },
    release: () => session.release(),
  };
}
