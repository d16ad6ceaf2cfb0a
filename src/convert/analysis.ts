/**
 * Static analysis of an ncnn graph (ncnn.ts): parameter count, multiply-adds per input pixel, receptive field and
 * each blob's exact footprint, architecture, scale, window alignment and global poolings.
 */
import type { NcnnGraph, NcnnLayer } from './ncnn.js';

export interface BlobInfo {
  /** channel count */
  readonly channels: number;
  /** spatial size relative to the network input (same in both axes; the graphs here are isotropic) */
  readonly scale: number;
  /** receptive-field radius in input pixels (un-rounded) */
  readonly radius: number;
  /** A per-channel vector (a global pooling and what is computed from it), with no spatial extent. */
  readonly vector: boolean;
  /** Exactly which input pixels each pixel reads; undefined after a resampling that blends pixels. */
  readonly footprint?: Footprint;
}

/**
 * Which input pixels each pixel of a blob is computed from, exactly (along one axis; the graphs are isotropic).
 * Strided and transposed convolutions make this repeat with a period: pixel `phase + period·m` reads input pixels
 * `lo[phase] + m·step` to `hi[phase] + m·step`, where `step` = period / scale, a whole number of input pixels.
 */
export interface Footprint {
  readonly period: number;
  readonly lo: readonly number[];
  readonly hi: readonly number[];
}

/** A global average pooling: the feature map it averages, for gathering its mean over tiles. */
export interface PoolInfo {
  readonly name: string;
  readonly channels: number;
  /** Pixels of the pooled feature map per input pixel. */
  readonly scale: number;
  readonly footprint?: Footprint;
}

/** IFNet: RIFE's flow network, told by its warps. */
export type Architecture = 'RRDBNet' | 'SRVGGNetCompact' | 'CUNet' | 'IFNet';

export interface GraphAnalysis {
  /** of the first input */
  readonly inputChannels: number;
  readonly outputChannels: number;
  /** weights + biases + PReLU slopes + Scale factors */
  readonly parameters: number;
  /** multiply-adds per input pixel (the per-image vector layers are not counted) */
  readonly macsPerPixel: number;
  /** ceil of the receptive-field radius, in input pixels */
  readonly receptiveFieldRadius: number;
  /** CUNet: the (cascaded) U-Nets, told by their transposed convolutions; RRDBNet by its dense concatenations. */
  readonly architecture: Architecture;
  /** output size / input size */
  readonly scale: number;
  /** The global average poolings, in graph order. */
  readonly pools: readonly PoolInfo[];
  /**
   * The input offsets, in pixels, that keep every blob's pixel grid in step with itself: a window of the input
   * starting at a multiple of this computes the same pixels as the whole input does there (away from its borders).
   */
  readonly align: number;
  readonly blobs: ReadonlyMap<string, BlobInfo>;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;

/** Input pixels pixel `j` of a blob reads, as [first, last]. */
export function footprintAt(f: Footprint, scale: number, j: number): [number, number] {
  const m = Math.floor(j / f.period);
  const phase = j - m * f.period;
  const step = (f.period / scale) * m;
  return [f.lo[phase]! + step, f.hi[phase]! + step];
}

/** The footprint of a blob whose pixel j reads the pixels `taps(j)` of blob `x`, repeating every `period` pixels. */
function derive(x: BlobInfo, period: number, taps: (j: number) => number[]): Footprint | undefined {
  if (!x.footprint) return undefined;
  const lo: number[] = [];
  const hi: number[] = [];
  for (let phase = 0; phase < period; phase++) {
    const reads = taps(phase).map((i) => footprintAt(x.footprint!, x.scale, i));
    lo.push(Math.min(...reads.map((r) => r[0])));
    hi.push(Math.max(...reads.map((r) => r[1])));
  }
  return { period, lo, hi };
}

/** Several blobs at one scale read together, pixel for pixel. */
function union(xs: readonly BlobInfo[]): Footprint | undefined {
  if (xs.some((x) => !x.footprint)) return undefined;
  const period = xs.map((x) => x.footprint!.period).reduce(lcm);
  const reads = (j: number) => xs.map((x) => footprintAt(x.footprint!, x.scale, j));
  return {
    period,
    lo: Array.from({ length: period }, (_, j) => Math.min(...reads(j).map((r) => r[0]))),
    hi: Array.from({ length: period }, (_, j) => Math.max(...reads(j).map((r) => r[1]))),
  };
}

/**
 * Channel count of an input: the Input layer's `2=c` when given, else what the first convolution reading the input
 * (directly or through Split) expects, else 3.
 */
function inferInputChannels(g: NcnnGraph, input: string): number {
  const inputLayer = g.layers.find((l) => l.type === 'Input' && l.outputs[0] === input);
  const c = inputLayer?.params.get(2);
  if (typeof c === 'number' && c > 0) return c;
  const aliases = new Set([input]);
  for (const l of g.layers) {
    if (l.type === 'Split' && aliases.has(l.inputs[0]!)) for (const o of l.outputs) aliases.add(o);
    if (l.type === 'Convolution' && aliases.has(l.inputs[0]!)) return l.numInput * l.group;
  }
  return 3;
}

/** ncnn's reading of a crop range over `length`: -233 or an end of 0 mean the end, negatives count from it. */
export function cropRange(start: number, end: number, length: number): [number, number] {
  const from = start === -233 ? 0 : start >= 0 ? start : length + start;
  const to = end === -233 ? length : Math.min(length, end > 0 ? end : length + end);
  return [from, to];
}

/**
 * Propagate channels, spatial scale, receptive-field radius and placement through the graph.
 * Throws on inconsistent channel counts or spatial scales. `channels` gives inputs' channel counts that the graph
 * cannot tell (inputs concatenated before any convolution reads them, as RIFE's).
 */
export function analyzeGraph(g: NcnnGraph, channels: ReadonlyMap<string, number> = new Map()): GraphAnalysis {
  const blobs = new Map<string, BlobInfo>();
  const get = (l: NcnnLayer, b: string): BlobInfo => {
    const info = blobs.get(b);
    if (!info) throw new Error(`${g.paramFile}: layer ${l.name}: unknown blob ${b}`);
    return info;
  };
  const channelsOf = (input: string): number => channels.get(input) ?? inferInputChannels(g, input);
  const inputChannels = channelsOf(g.input);
  let parameters = 0;
  let macs = 0;
  let hasConcat = false;
  let hasDeconvolution = false;
  let hasWarp = false;
  const pools: PoolInfo[] = [];
  const fail = (l: NcnnLayer, msg: string): never => {
    throw new Error(`${g.paramFile}: layer ${l.name} (${l.type}): ${msg}`);
  };
  const spatial = (l: NcnnLayer, b: string): BlobInfo => {
    const x = get(l, b);
    if (x.vector) fail(l, `blob ${b} is a per-channel vector, not a feature map`);
    return x;
  };
  for (const l of g.layers) {
    switch (l.type) {
      case 'Input':
        blobs.set(l.outputs[0]!, { channels: channelsOf(l.outputs[0]!), scale: 1, radius: 0, vector: false, footprint: { period: 1, lo: [0], hi: [0] } });
        break;
      case 'ReLU':
      case 'Sigmoid':
        blobs.set(l.outputs[0]!, spatial(l, l.inputs[0]!));
        break;
      case 'Warp': {
        hasWarp = true;
        const [image, flow] = [spatial(l, l.inputs[0]!), spatial(l, l.inputs[1]!)];
        if (flow.channels !== 2) fail(l, `a flow of ${flow.channels} channels (expects x and y)`);
        if (flow.scale !== image.scale) fail(l, 'flow at a different spatial scale from the image');
        // A sample may come from anywhere in the image: no footprint, and no bound on the reach.
        const { footprint: _, ...rest } = image;
        blobs.set(l.outputs[0]!, { ...rest, radius: Infinity });
        break;
      }
      case 'Split': {
        const x = get(l, l.inputs[0]!);
        for (const o of l.outputs) blobs.set(o, x);
        break;
      }
      case 'Convolution': {
        const x = spatial(l, l.inputs[0]!);
        if (x.channels !== l.numInput * l.group) fail(l, `expects ${l.numInput * l.group} input channels, gets ${x.channels}`);
        const [kh, kw] = l.kernel;
        const [dh, dw] = l.dilation;
        const [sh, sw] = l.stride;
        if (sh !== sw) fail(l, 'anisotropic stride');
        if (kh !== kw || dh !== dw || l.pads[0] !== l.pads[1]) fail(l, 'anisotropic kernel or padding');
        parameters += l.weight.float32.length + (l.bias?.length ?? 0);
        const outScale = x.scale / sh;
        macs += kh * kw * l.numInput * l.numOutput * outScale * outScale;
        const reach = Math.max(((kh - 1) / 2) * dh, ((kw - 1) / 2) * dw);
        const pad = l.pads[0];
        blobs.set(l.outputs[0]!, {
          channels: l.numOutput,
          scale: outScale,
          radius: x.radius + reach / x.scale,
          vector: false,
          footprint: derive(x, (x.footprint?.period ?? 1) / gcd(x.footprint?.period ?? 1, sh), (j) =>
            Array.from({ length: kh }, (_, t) => sh * j - pad + dh * t),
          ),
        });
        break;
      }
      case 'Deconvolution': {
        hasDeconvolution = true;
        const x = spatial(l, l.inputs[0]!);
        if (x.channels !== l.numInput) fail(l, `expects ${l.numInput} input channels, gets ${x.channels}`);
        const [kh, kw] = l.kernel;
        const [dh, dw] = l.dilation;
        const [sh, sw] = l.stride;
        if (sh !== sw || kh !== kw || dh !== dw || l.pads[0] !== l.pads[1]) fail(l, 'anisotropic kernel, stride or padding');
        parameters += l.weight.float32.length + (l.bias?.length ?? 0);
        // Every input pixel is spread over a kernel of output pixels.
        macs += kh * kw * l.numInput * l.numOutput * x.scale * x.scale;
        const pad = l.pads[0];
        blobs.set(l.outputs[0]!, {
          channels: l.numOutput,
          scale: x.scale * sh,
          // An output pixel gathers about (kernel extent / stride) input pixels.
          radius: x.radius + (dh * (kh - 1)) / (2 * sh) / x.scale,
          vector: false,
          // Output pixel j takes the input pixels i with stride·i + dilation·t − pad = j for a kernel tap t.
          footprint: derive(x, (x.footprint?.period ?? 1) * sh, (j) =>
            Array.from({ length: kh }, (_, t) => j + pad - dh * t).filter((n) => n % sh === 0).map((n) => n / sh),
          ),
        });
        break;
      }
      case 'Pooling': {
        const x = spatial(l, l.inputs[0]!);
        pools.push({ name: l.name, channels: x.channels, scale: x.scale, ...(x.footprint && { footprint: x.footprint }) });
        blobs.set(l.outputs[0]!, { channels: x.channels, scale: x.scale, radius: 0, vector: true });
        break;
      }
      case 'InnerProduct': {
        const x = get(l, l.inputs[0]!);
        if (!x.vector) fail(l, 'only per-channel vectors (after a global pooling) are supported as input');
        if (x.channels !== l.numInput) fail(l, `expects ${l.numInput} inputs, gets ${x.channels}`);
        parameters += l.weight.float32.length + (l.bias?.length ?? 0);
        blobs.set(l.outputs[0]!, { ...x, channels: l.numOutput });
        break;
      }
      case 'Scale': {
        const x = spatial(l, l.inputs[0]!);
        const factors = l.scale?.length ?? get(l, l.inputs[1]!).channels;
        if (l.inputs.length === 2 && !get(l, l.inputs[1]!).vector) fail(l, 'factors must be a per-channel vector');
        if (factors !== x.channels) fail(l, `${factors} factors for ${x.channels} channels`);
        parameters += (l.scale?.length ?? 0) + (l.bias?.length ?? 0);
        blobs.set(l.outputs[0]!, x);
        break;
      }
      case 'Crop': {
        const x = spatial(l, l.inputs[0]!);
        let channels = x.channels;
        // Where the crop starts, when the same along both axes and from the start: else no footprint is kept.
        let offset: number | undefined;
        if (l.form === 'reference') {
          const ref = spatial(l, l.inputs[1]!);
          if (ref.channels !== x.channels) fail(l, `crops ${x.channels} channels to a reference of ${ref.channels}`);
          if (ref.scale !== x.scale) fail(l, 'reference at a different spatial scale');
          offset = l.offsetH === l.offsetW ? l.offsetH : undefined;
        } else {
          const starts = new Map(l.axes.map((a, i) => [a, l.starts[i]!]));
          const ends = new Map(l.axes.map((a, i) => [a, l.ends[i]!]));
          if (starts.has(0)) {
            const [from, to] = cropRange(starts.get(0)!, ends.get(0)!, x.channels);
            channels = to - from;
            if (channels <= 0) fail(l, 'crops away every channel');
          }
          // A spatial start counted from the end would place the crop by the image size: not a fixed offset.
          const [h, w] = [starts.get(1) ?? 0, starts.get(2) ?? 0].map((start) => (start === -233 ? 0 : start));
          offset = h === w && h! >= 0 ? h : undefined;
        }
        const { footprint: _, ...rest } = x;
        const footprint = offset === undefined ? undefined : derive(x, x.footprint?.period ?? 1, (j) => [j + offset]);
        blobs.set(l.outputs[0]!, { ...rest, channels, ...(footprint && { footprint }) });
        break;
      }
      case 'PReLU': {
        const x = spatial(l, l.inputs[0]!);
        if (l.slope.length !== 1 && l.slope.length !== x.channels) fail(l, `${l.slope.length} slopes for ${x.channels} channels`);
        parameters += l.slope.length;
        blobs.set(l.outputs[0]!, x);
        break;
      }
      case 'PixelShuffle': {
        const x = spatial(l, l.inputs[0]!);
        const r2 = l.factor * l.factor;
        if (x.channels % r2 !== 0) fail(l, `${x.channels} channels not divisible by ${r2}`);
        const scale = x.scale * l.factor;
        const footprint = derive(x, (x.footprint?.period ?? 1) * l.factor, (j) => [Math.floor(j / l.factor)]);
        blobs.set(l.outputs[0]!, { ...x, channels: x.channels / r2, scale, footprint });
        break;
      }
      case 'Interp': {
        const x = spatial(l, l.inputs[0]!);
        if (l.scaleH !== l.scaleW) fail(l, 'anisotropic scale');
        // Bicubic reads 2 source pixels each side; bilinear 1; nearest adds no reach.
        const taps = l.mode === 'bicubic' ? 2 : l.mode === 'bilinear' ? 1 : 0;
        // A whole-number nearest upsampling repeats pixels; a blend of pixels has no exact footprint kept here.
        const factor = l.scaleH;
        const repeats = l.mode === 'nearest' && Number.isInteger(factor);
        const footprint = repeats ? derive(x, (x.footprint?.period ?? 1) * factor, (j) => [Math.floor(j / factor)]) : undefined;
        const { footprint: _, ...rest } = x;
        blobs.set(l.outputs[0]!, { ...rest, scale: x.scale * factor, radius: x.radius + taps / x.scale, ...(footprint && { footprint }) });
        break;
      }
      case 'BinaryOp':
      case 'Eltwise':
      case 'Concat': {
        const all = l.inputs.map((b) => get(l, b));
        const maps = all.filter((x) => !x.vector);
        const vectors = all.filter((x) => x.vector);
        if (vectors.length > 0 && l.type !== 'BinaryOp') fail(l, 'per-channel vector inputs');
        // A vector operand broadcasts over a feature map's channels.
        const xs = maps.length > 0 ? maps : vectors;
        const scale = xs[0]!.scale;
        if (xs.some((x) => x.scale !== scale)) fail(l, 'inputs at different spatial scales');
        let channels: number;
        if (l.type === 'Concat') {
          hasConcat = true;
          if (l.axis !== 0 && l.axis !== -3) fail(l, `concat axis ${l.axis} (only channels)`);
          channels = xs.reduce((s, x) => s + x.channels, 0);
        } else {
          // A one-channel map broadcasts over the other operand's channels (RIFE's blend mask).
          channels = Math.max(...xs.map((x) => x.channels));
          const broadcast = l.type === 'BinaryOp' && maps.length === 2;
          if (all.some((x) => x.channels !== channels && !(broadcast && x.channels === 1))) fail(l, 'inputs with different channel counts');
        }
        blobs.set(l.outputs[0]!, {
          channels,
          scale,
          radius: Math.max(...xs.map((x) => x.radius)),
          vector: maps.length === 0,
          ...(maps.length > 0 && { footprint: union(maps) }),
        });
        break;
      }
    }
  }
  const out = blobs.get(g.output)!;
  let align = 1;
  for (const b of blobs.values()) {
    if (!b.footprint) continue;
    const step = b.footprint.period / b.scale;
    if (!Number.isInteger(step)) throw new Error(`${g.paramFile}: a pixel grid repeating every ${step} input pixels`);
    align = lcm(align, step);
  }
  return {
    inputChannels,
    outputChannels: out.channels,
    parameters,
    macsPerPixel: Math.round(macs),
    // Tolerate float noise (e.g. 18.0000000001) before rounding up.
    receptiveFieldRadius: Math.ceil(out.radius - 1e-9),
    architecture: hasWarp ? 'IFNet' : hasDeconvolution ? 'CUNet' : hasConcat ? 'RRDBNet' : 'SRVGGNetCompact',
    scale: out.scale,
    pools,
    align,
    blobs,
  };
}
