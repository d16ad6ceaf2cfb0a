/**
 * A network to run: `loadNetwork` picks the device and precision (providers.ts), opens the session in its process
 * (worker.ts) and probes the network's scale; a Network runs windows and sums the U-Nets' poolings.
 */
import { existsSync } from 'node:fs';
import { errorLine, ModelError, UsageError } from '../core/errors.js';
import { messages } from '../core/messages.js';
import type { NetworkModel } from '../models/catalog.js';
import type { Image } from '../core/image.js';
import type { Feed, RequestBody } from './protocol.js';
import { AUTO, availableDevices, cpuPrecision, PROVIDERS, type ConcreteDevice, type ConcretePrecision, type Device, type Precision } from './providers.js';
import { openOn, type Reply, type SessionWorker } from './worker.js';

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

