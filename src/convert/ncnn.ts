/**
 * Reader for ncnn models (text `.param` + binary `.bin`) restricted to the ops used by the
 * Real-ESRGAN, Real-CUGAN and waifu2x CUNet graphs and RIFE's flow network (three inputs, and its custom `rife.Warp`
 * layer), producing a typed graph (analysis.ts analyses it).
 *
 * ncnn formats (https://github.com/Tencent/ncnn/wiki/param-and-model-file-structure):
 * - `.param`: line 1 magic 7767517; line 2 `layer_count blob_count`; then one line per layer:
 *   `Type Name n_in n_out in_blobs... out_blobs... k=v...`. A key <= -23300 is an array param
 *   with id = -23300 - key and value `count,v1,v2,...`.
 * - `.bin`: the layers' weight blobs concatenated in layer order. A blob loaded with "type 0"
 *   (Convolution weights) starts with a 4-byte tag: 0x01306B47 = float16 data (padded to 4 bytes),
 *   0 = raw float32. Blobs loaded with "type 1" (biases, PReLU slopes, Scale factors) are raw float32, no tag.
 * - A global pooling yields a 1-D blob of one value per channel; BinaryOp and Scale broadcast such a blob over the
 *   channels of a feature map (the squeeze-and-excitation blocks of the U-Nets).
 */
import { readFile } from 'node:fs/promises';

export const NCNN_MAGIC = 7767517;
const TAG_FP16 = 0x01306b47;
const TAG_FP32 = 0;

export type ParamValue = number | number[];
export type ParamDict = ReadonlyMap<number, ParamValue>;

/** A weight blob: always available as float32; `float16` holds the exact stored bits when the source was fp16. */
export interface WeightBlob {
  readonly float32: Float32Array;
  readonly float16?: Uint16Array;
}

interface LayerBase {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly params: ParamDict;
}

export interface InputLayer extends LayerBase { readonly type: 'Input' }
export interface SplitLayer extends LayerBase { readonly type: 'Split' }

export type Activation =
  | { readonly kind: 'none' }
  | { readonly kind: 'relu' }
  | { readonly kind: 'leakyrelu'; readonly slope: number }
  | { readonly kind: 'sigmoid' };

/** What Convolution and Deconvolution share: the same size parameters (the same ids in ncnn), weights and bias. */
interface KernelFields {
  readonly numOutput: number;
  readonly numInput: number;
  readonly kernel: readonly [number, number]; // [h, w]
  readonly dilation: readonly [number, number];
  readonly stride: readonly [number, number];
  /** [top, left, bottom, right]: padding for Convolution; for Deconvolution, what is cut from the full output. */
  readonly pads: readonly [number, number, number, number];
  readonly activation: Activation;
  /** numOutput × numInput × kh × kw (ncnn's order; ONNX ConvTranspose wants input channels first) */
  readonly weight: WeightBlob;
  readonly bias?: Float32Array;
}

export interface ConvolutionLayer extends LayerBase, KernelFields {
  readonly type: 'Convolution';
  readonly group: number;
}

export interface DeconvolutionLayer extends LayerBase, KernelFields {
  readonly type: 'Deconvolution';
}

/** Average over the whole feature map: one value per channel. */
export interface PoolingLayer extends LayerBase { readonly type: 'Pooling'; readonly op: 'global-average' }

/** A fully connected layer on a per-channel vector (the excitation of an SE block). */
export interface InnerProductLayer extends LayerBase {
  readonly type: 'InnerProduct';
  readonly numOutput: number;
  readonly numInput: number;
  readonly activation: Activation;
  /** numOutput × numInput */
  readonly weight: WeightBlob;
  readonly bias?: Float32Array;
}

/** Per-channel multiply by the second input blob (a per-channel vector), or by stored factors, plus stored biases. */
export interface ScaleLayer extends LayerBase {
  readonly type: 'Scale';
  /** undefined: the factors are the second input */
  readonly scale?: Float32Array;
  readonly bias?: Float32Array;
}

/**
 * A spatial crop of a feature map: numpy-style `slice` ranges (ncnn params 9/10/11, ncnn's per-image axes, where
 * 0 is the channel axis; an end of 0 or -233 means the end, a negative start or end counts from the end), or the
 * size of a `reference` blob (the second input) from the given offsets.
 */
export type CropLayer = LayerBase & { readonly type: 'Crop' } & (
    | { readonly form: 'slice'; readonly axes: readonly number[]; readonly starts: readonly number[]; readonly ends: readonly number[] }
    | { readonly form: 'reference'; readonly offsetH: number; readonly offsetW: number }
  );

export interface PReLULayer extends LayerBase {
  readonly type: 'PReLU';
  readonly slope: Float32Array; // length numSlope (1 = shared)
}

export interface PixelShuffleLayer extends LayerBase {
  readonly type: 'PixelShuffle';
  readonly factor: number;
  /** ncnn mode 0 = PyTorch order (ONNX DepthToSpace CRD), 1 = DCR */
  readonly mode: 'CRD' | 'DCR';
}

export interface InterpLayer extends LayerBase {
  readonly type: 'Interp';
  readonly mode: 'nearest' | 'bilinear' | 'bicubic';
  readonly scaleH: number;
  readonly scaleW: number;
  readonly alignCorners: boolean;
}

/**
 * ncnn operation types 0-3 and 7 (reverse subtraction, b − a); a per-channel vector operand, or a one-channel map,
 * broadcasts over the other's channels.
 */
export const BINARY_OPS = { 0: 'add', 1: 'sub', 2: 'mul', 3: 'div', 7: 'rsub' } as const;
export interface BinaryOpLayer extends LayerBase {
  readonly type: 'BinaryOp';
  readonly op: (typeof BINARY_OPS)[keyof typeof BINARY_OPS];
  /** The second operand as a constant (params 1 = 1, 2 = b): the layer has one input. */
  readonly scalar?: number;
}

/** A standalone activation layer: ReLU (leaky when param 0 gives a slope) and Sigmoid. */
export interface ReLULayer extends LayerBase { readonly type: 'ReLU'; readonly slope: number }
export interface SigmoidLayer extends LayerBase { readonly type: 'Sigmoid' }

/**
 * RIFE's `rife.Warp`: image (input 0) sampled at each pixel's position plus its flow (input 1: x and y displacement in
 * pixels), bilinear, positions clamped to the image (Practical-RIFE's warplayer.py: grid_sample with border padding
 * and align_corners).
 */
export interface WarpLayer extends LayerBase { readonly type: 'Warp' }

export interface EltwiseLayer extends LayerBase {
  readonly type: 'Eltwise';
  readonly op: 'sum';
  /** one coefficient per input (all 1 when the param file gives none) */
  readonly coeffs: readonly number[];
}

export interface ConcatLayer extends LayerBase {
  readonly type: 'Concat';
  /** ncnn axis over the per-image blob (0 = channels for a CHW blob) */
  readonly axis: number;
}

export type NcnnLayer =
  | InputLayer
  | SplitLayer
  | ConvolutionLayer
  | DeconvolutionLayer
  | PoolingLayer
  | InnerProductLayer
  | ScaleLayer
  | CropLayer
  | PReLULayer
  | PixelShuffleLayer
  | InterpLayer
  | BinaryOpLayer
  | EltwiseLayer
  | ConcatLayer
  | ReLULayer
  | SigmoidLayer
  | WarpLayer;

export type NcnnOpType = NcnnLayer['type'];

export interface NcnnGraph {
  readonly paramFile: string;
  readonly binFile: string;
  readonly layers: readonly NcnnLayer[];
  readonly blobCount: number;
  /** the blob produced by the first Input layer */
  readonly input: string;
  /** the blobs of every Input layer, in file order (RIFE has three: two frames and the timestep) */
  readonly inputs: readonly string[];
  /** the only blob that is produced and never consumed */
  readonly output: string;
}

/** One layer line of a `.param` file before weights are attached. */
export interface RawLayer {
  readonly type: string;
  readonly name: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly params: Map<number, ParamValue>;
  readonly line: number;
}

export interface RawParam {
  readonly layerCount: number;
  readonly blobCount: number;
  readonly layers: RawLayer[];
}

const SUPPORTED = new Set<string>([
  'Input', 'Split', 'Convolution', 'Deconvolution', 'Pooling', 'InnerProduct', 'Scale', 'Crop', 'PReLU', 'PixelShuffle',
  'Interp', 'BinaryOp', 'Eltwise', 'Concat', 'ReLU', 'Sigmoid', 'rife.Warp',
]);

function parseNumber(text: string, file: string, line: number): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) {
    throw new Error(`${file}:${line}: bad numeric parameter value "${text}"`);
  }
  return v;
}

/** Parse the text of an ncnn `.param` file. */
export function parseParam(text: string, file: string): RawParam {
  const lines = text.split(/\r?\n/);
  let i = 0;
  const next = (): { tokens: string[]; line: number } | undefined => {
    while (i < lines.length) {
      const raw = lines[i++]!.trim();
      if (raw !== '') return { tokens: raw.split(/\s+/), line: i };
    }
    return undefined;
  };
  const magic = next();
  if (!magic || magic.tokens.length !== 1 || Number(magic.tokens[0]) !== NCNN_MAGIC) {
    throw new Error(`${file}: not an ncnn param file (first line must be the magic ${NCNN_MAGIC})`);
  }
  const counts = next();
  if (!counts || counts.tokens.length !== 2) throw new Error(`${file}: missing "layer_count blob_count" line`);
  const layerCount = parseNumber(counts.tokens[0]!, file, counts.line);
  const blobCount = parseNumber(counts.tokens[1]!, file, counts.line);

  const layers: RawLayer[] = [];
  for (let entry = next(); entry; entry = next()) {
    const { tokens, line } = entry;
    if (tokens.length < 4) throw new Error(`${file}:${line}: truncated layer line`);
    const [type, name] = [tokens[0]!, tokens[1]!];
    const nIn = parseNumber(tokens[2]!, file, line);
    const nOut = parseNumber(tokens[3]!, file, line);
    if (!Number.isInteger(nIn) || !Number.isInteger(nOut) || nIn < 0 || nOut < 0 || tokens.length < 4 + nIn + nOut) {
      throw new Error(`${file}:${line}: layer ${name} (${type}): bad blob counts`);
    }
    const inputs = tokens.slice(4, 4 + nIn);
    const outputs = tokens.slice(4 + nIn, 4 + nIn + nOut);
    const params = new Map<number, ParamValue>();
    for (const kv of tokens.slice(4 + nIn + nOut)) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new Error(`${file}:${line}: layer ${name} (${type}): bad parameter "${kv}"`);
      const key = parseNumber(kv.slice(0, eq), file, line);
      const value = kv.slice(eq + 1);
      if (!Number.isInteger(key)) throw new Error(`${file}:${line}: layer ${name} (${type}): bad parameter key "${kv}"`);
      if (key <= -23300) {
        const parts = value.split(',').map((p) => parseNumber(p, file, line));
        const count = parts[0]!;
        if (parts.length - 1 !== count) {
          throw new Error(`${file}:${line}: layer ${name} (${type}): array parameter ${kv} announces ${count} values, has ${parts.length - 1}`);
        }
        params.set(-23300 - key, parts.slice(1));
      } else {
        params.set(key, parseNumber(value, file, line));
      }
    }
    layers.push({ type, name, inputs, outputs, params, line });
  }
  if (layers.length !== layerCount) {
    throw new Error(`${file}: header announces ${layerCount} layers, found ${layers.length}`);
  }
  const blobs = new Set<string>();
  for (const l of layers) for (const b of l.outputs) blobs.add(b);
  if (blobs.size !== blobCount) {
    throw new Error(`${file}: header announces ${blobCount} blobs, layers produce ${blobs.size}`);
  }
  return { layerCount, blobCount, layers };
}

/** IEEE 754 binary16 bits → number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Every binary16 value as float32, made once: the U-Net sources hold millions of half floats. */
let halves: Float32Array | undefined;
function halfTable(): Float32Array {
  halves ??= Float32Array.from({ length: 65536 }, (_, h) => halfToFloat(h));
  return halves;
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
/** number → IEEE 754 binary16 bits, round to nearest even (via the float32 value). */
export function floatToHalf(value: number): number {
  f32buf[0] = value;
  const x = u32buf[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

class BinReader {
  offset = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array, private readonly file: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number, what: string): void {
    if (this.offset + n > this.bytes.byteLength) {
      throw new Error(
        `${this.file}: truncated: ${what} needs bytes ${this.offset}..${this.offset + n} but the file ends at byte ${this.bytes.byteLength}`,
      );
    }
  }

  /** ncnn ModelBin::load(w, 1): raw float32, no tag. */
  rawFloat32(count: number, what: string): Float32Array {
    this.need(count * 4, what);
    const out = new Float32Array(count);
    for (let k = 0; k < count; k++) out[k] = this.view.getFloat32(this.offset + 4 * k, true);
    this.offset += count * 4;
    return out;
  }

  /** ncnn ModelBin::load(w, 0): 4-byte tag, then fp16 (tag 0x01306B47, padded to 4 bytes) or fp32 (tag 0). */
  tagged(count: number, what: string): WeightBlob {
    this.need(4, `${what} tag`);
    const tagOffset = this.offset;
    const tag = this.view.getUint32(this.offset, true);
    this.offset += 4;
    if (tag === TAG_FP16) {
      const size = Math.ceil((count * 2) / 4) * 4;
      this.need(size, `${what} (float16 × ${count})`);
      const float16 = new Uint16Array(count);
      const float32 = new Float32Array(count);
      const table = halfTable();
      for (let k = 0; k < count; k++) {
        const h = this.view.getUint16(this.offset + 2 * k, true);
        float16[k] = h;
        float32[k] = table[h]!;
      }
      this.offset += size;
      return { float32, float16 };
    }
    if (tag === TAG_FP32) return { float32: this.rawFloat32(count, `${what} (float32 × ${count})`) };
    throw new Error(
      `${this.file}: ${what}: unsupported weight storage tag 0x${tag.toString(16).padStart(8, '0')} at byte ${tagOffset} (only float16 0x01306b47 and raw float32 0 are supported)`,
    );
  }

  finish(): void {
    if (this.offset !== this.bytes.byteLength) {
      throw new Error(
        `${this.file}: ${this.bytes.byteLength - this.offset} bytes left over: weights end at byte ${this.offset} but the file has ${this.bytes.byteLength} bytes`,
      );
    }
  }
}

function intParam(l: RawLayer, id: number, dflt: number, file: string): number {
  const v = l.params.get(id);
  if (v === undefined) return dflt;
  if (Array.isArray(v) || !Number.isInteger(v)) {
    throw new Error(`${file}:${l.line}: layer ${l.name} (${l.type}): parameter ${id} must be an integer`);
  }
  return v;
}

function floatParam(l: RawLayer, id: number, dflt: number, file: string): number {
  const v = l.params.get(id);
  if (v === undefined) return dflt;
  if (Array.isArray(v)) throw new Error(`${file}:${l.line}: layer ${l.name} (${l.type}): parameter ${id} must be a scalar`);
  return v;
}

function arrayParam(l: RawLayer, id: number): number[] | undefined {
  const v = l.params.get(id);
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v : [v];
}

function unsupported(l: RawLayer, file: string, what: string): never {
  throw new Error(`${file}:${l.line}: layer ${l.name} (${l.type}): unsupported ${what}`);
}

/** ncnn's fused activation (params 9 and 10), shared by Convolution, Deconvolution and InnerProduct. */
function activationParam(l: RawLayer, file: string): Activation {
  const act = intParam(l, 9, 0, file);
  if (act === 0) return { kind: 'none' };
  if (act === 1) return { kind: 'relu' };
  if (act === 2) return { kind: 'leakyrelu', slope: arrayParam(l, 10)?.[0] ?? 0 };
  if (act === 4) return { kind: 'sigmoid' };
  return unsupported(l, file, `fused activation type ${act} (param 9)`);
}

/** Convolution's and Deconvolution's shared parameters, checked, and their weights read. */
function kernelLayer(l: RawLayer, f: string, reader: BinReader): KernelFields {
  const numOutput = intParam(l, 0, 0, f);
  const kw = intParam(l, 1, 0, f);
  const kh = intParam(l, 11, kw, f);
  const dw = intParam(l, 2, 1, f);
  const dh = intParam(l, 12, dw, f);
  const sw = intParam(l, 3, 1, f);
  const sh = intParam(l, 13, sw, f);
  const pl = intParam(l, 4, 0, f);
  const pr = intParam(l, 15, pl, f);
  const pt = intParam(l, 14, pl, f);
  const pb = intParam(l, 16, pt, f);
  const biasTerm = intParam(l, 5, 0, f);
  const weightSize = intParam(l, 6, 0, f);
  if ([pl, pr, pt, pb].some((p) => p < 0)) unsupported(l, f, 'automatic (SAME) padding');
  if (numOutput <= 0 || kw <= 0 || kh <= 0 || weightSize % (numOutput * kw * kh) !== 0) {
    unsupported(l, f, `weight size ${weightSize} for ${numOutput} outputs and a ${kh}×${kw} kernel`);
  }
  const activation = activationParam(l, f);
  const weight = reader.tagged(weightSize, `layer ${l.name} weight`);
  const bias = biasTerm ? reader.rawFloat32(numOutput, `layer ${l.name} bias`) : undefined;
  return {
    numOutput,
    numInput: weightSize / (numOutput * kw * kh),
    kernel: [kh, kw],
    dilation: [dh, dw],
    stride: [sh, sw],
    pads: [pt, pl, pb, pr],
    activation,
    weight,
    ...(bias ? { bias } : {}),
  };
}

function expectArity(l: RawLayer, file: string, nIn: number | 'many', nOut: number | 'many'): void {
  const okIn = nIn === 'many' ? l.inputs.length >= 2 : l.inputs.length === nIn;
  const okOut = nOut === 'many' ? l.outputs.length >= 1 : l.outputs.length === nOut;
  if (!okIn || !okOut) {
    throw new Error(`${file}:${l.line}: layer ${l.name} (${l.type}): unexpected ${l.inputs.length} inputs / ${l.outputs.length} outputs`);
  }
}

/** Build the typed graph from a parsed `.param` and the `.bin` bytes. */
export function buildGraph(raw: RawParam, bin: Uint8Array, paramFile: string, binFile: string): NcnnGraph {
  // Validate op types first so an unknown op is reported before any weight-size error.
  for (const l of raw.layers) {
    if (!SUPPORTED.has(l.type)) {
      throw new Error(`${paramFile}:${l.line}: unsupported ncnn op: layer "${l.name}" has type "${l.type}"`);
    }
  }
  const reader = new BinReader(bin, binFile);
  const layers: NcnnLayer[] = [];
  const inputs: string[] = [];
  for (const l of raw.layers) {
    const base = { name: l.name, inputs: l.inputs, outputs: l.outputs, params: l.params };
    const f = paramFile;
    switch (l.type) {
      case 'Input':
        expectArity(l, f, 0, 1);
        inputs.push(l.outputs[0]!);
        layers.push({ ...base, type: 'Input' });
        break;
      case 'Split':
        expectArity(l, f, 1, 'many');
        layers.push({ ...base, type: 'Split' });
        break;
      case 'Convolution': {
        expectArity(l, f, 1, 1);
        if (intParam(l, 8, 0, f) !== 0) unsupported(l, f, 'int8 quantised convolution (param 8)');
        if (intParam(l, 19, 0, f) !== 0) unsupported(l, f, 'dynamic weight convolution (param 19)');
        if (floatParam(l, 18, 0, f) !== 0) unsupported(l, f, 'non-zero pad value (param 18)');
        layers.push({ ...base, type: 'Convolution', ...kernelLayer(l, f, reader), group: 1 });
        break;
      }
      case 'Deconvolution': {
        expectArity(l, f, 1, 1);
        if (intParam(l, 18, 0, f) !== 0 || intParam(l, 19, 0, f) !== 0) unsupported(l, f, 'output padding (params 18/19)');
        if (intParam(l, 20, 0, f) !== 0 || intParam(l, 21, 0, f) !== 0) unsupported(l, f, 'fixed output size (params 20/21)');
        if (intParam(l, 28, 0, f) !== 0) unsupported(l, f, 'dynamic weight deconvolution (param 28)');
        layers.push({ ...base, type: 'Deconvolution', ...kernelLayer(l, f, reader) });
        break;
      }
      case 'Pooling': {
        expectArity(l, f, 1, 1);
        if (intParam(l, 0, 0, f) !== 1 || intParam(l, 4, 0, f) !== 1) {
          unsupported(l, f, `pooling other than global average (type ${intParam(l, 0, 0, f)}, global ${intParam(l, 4, 0, f)})`);
        }
        layers.push({ ...base, type: 'Pooling', op: 'global-average' });
        break;
      }
      case 'InnerProduct': {
        expectArity(l, f, 1, 1);
        const numOutput = intParam(l, 0, 0, f);
        const biasTerm = intParam(l, 1, 0, f);
        const weightSize = intParam(l, 2, 0, f);
        if (intParam(l, 8, 0, f) !== 0) unsupported(l, f, 'int8 quantised inner product (param 8)');
        if (numOutput <= 0 || weightSize % numOutput !== 0) unsupported(l, f, `weight size ${weightSize} for ${numOutput} outputs`);
        const activation = activationParam(l, f);
        const weight = reader.tagged(weightSize, `layer ${l.name} weight`);
        const bias = biasTerm ? reader.rawFloat32(numOutput, `layer ${l.name} bias`) : undefined;
        layers.push({ ...base, type: 'InnerProduct', numOutput, numInput: weightSize / numOutput, activation, weight, ...(bias ? { bias } : {}) });
        break;
      }
      case 'Scale': {
        const size = intParam(l, 0, 0, f);
        const biasTerm = intParam(l, 1, 0, f);
        if (size === -233) {
          expectArity(l, f, 2, 1);
          // ncnn loads no weights at all for factors from a blob, so it has no bias to add either.
          if (biasTerm) unsupported(l, f, 'bias with factors from a blob');
          layers.push({ ...base, type: 'Scale' });
        } else {
          expectArity(l, f, 1, 1);
          if (size <= 0) unsupported(l, f, `scale size ${size}`);
          const scale = reader.rawFloat32(size, `layer ${l.name} scale`);
          const bias = biasTerm ? reader.rawFloat32(size, `layer ${l.name} bias`) : undefined;
          layers.push({ ...base, type: 'Scale', scale, ...(bias ? { bias } : {}) });
        }
        break;
      }
      case 'Crop': {
        const starts = arrayParam(l, 9);
        const ends = arrayParam(l, 10);
        if (starts && ends) {
          expectArity(l, f, 1, 1);
          const axes = arrayParam(l, 11) ?? starts.map((_, i) => i);
          if (starts.length !== ends.length || axes.length !== starts.length) {
            unsupported(l, f, `${starts.length} starts, ${ends.length} ends and ${axes.length} axes`);
          }
          // The per-image blob is CHW: axes -3..2, normalised to 0 (channels), 1 (height), 2 (width).
          const normal = axes.map((a) => (a < 0 ? a + 3 : a));
          if (normal.some((a) => a < 0 || a > 2) || new Set(normal).size !== normal.length) unsupported(l, f, `crop axes ${axes.join(',')}`);
          layers.push({ ...base, type: 'Crop', form: 'slice', axes: normal, starts, ends });
        } else if (l.inputs.length === 2) {
          expectArity(l, f, 2, 1);
          if (intParam(l, 2, 0, f) !== 0) unsupported(l, f, 'channel offset (param 2)');
          layers.push({ ...base, type: 'Crop', form: 'reference', offsetW: intParam(l, 0, 0, f), offsetH: intParam(l, 1, 0, f) });
        } else {
          unsupported(l, f, 'crop form (only starts/ends/axes, or the size of a second input blob)');
        }
        break;
      }
      case 'PReLU': {
        expectArity(l, f, 1, 1);
        const n = intParam(l, 0, 0, f);
        if (n <= 0) unsupported(l, f, `slope count ${n}`);
        layers.push({ ...base, type: 'PReLU', slope: reader.rawFloat32(n, `layer ${l.name} slope`) });
        break;
      }
      case 'PixelShuffle': {
        expectArity(l, f, 1, 1);
        const factor = intParam(l, 0, 1, f);
        const mode = intParam(l, 1, 0, f);
        if (factor < 1) unsupported(l, f, `upscale factor ${factor}`);
        if (mode !== 0 && mode !== 1) unsupported(l, f, `mode ${mode}`);
        layers.push({ ...base, type: 'PixelShuffle', factor, mode: mode === 0 ? 'CRD' : 'DCR' });
        break;
      }
      case 'Interp': {
        expectArity(l, f, 1, 1);
        const type = intParam(l, 0, 0, f);
        const modes = { 1: 'nearest', 2: 'bilinear', 3: 'bicubic' } as const;
        if (type !== 1 && type !== 2 && type !== 3) unsupported(l, f, `resize type ${type}`);
        if (intParam(l, 3, 0, f) !== 0 || intParam(l, 4, 0, f) !== 0) unsupported(l, f, 'fixed output size (params 3/4)');
        if (intParam(l, 5, 0, f) !== 0) unsupported(l, f, 'dynamic target size (param 5)');
        const scaleH = floatParam(l, 1, 1, f);
        const scaleW = floatParam(l, 2, 1, f);
        if (!(scaleH > 0 && scaleW > 0)) unsupported(l, f, `scale ${scaleH}×${scaleW}`);
        layers.push({ ...base, type: 'Interp', mode: modes[type], scaleH, scaleW, alignCorners: intParam(l, 6, 0, f) !== 0 });
        break;
      }
      case 'BinaryOp': {
        const withScalar = intParam(l, 1, 0, f) !== 0;
        expectArity(l, f, withScalar ? 1 : 2, 1);
        const code = intParam(l, 0, 0, f);
        const op = Object.hasOwn(BINARY_OPS, code) ? BINARY_OPS[code as keyof typeof BINARY_OPS] : undefined;
        if (!op) unsupported(l, f, `operation type ${code} (only 0-3 = add, sub, mul, div, and 7 = rsub)`);
        layers.push({ ...base, type: 'BinaryOp', op, ...(withScalar && { scalar: floatParam(l, 2, 0, f) }) });
        break;
      }
      case 'ReLU':
        expectArity(l, f, 1, 1);
        layers.push({ ...base, type: 'ReLU', slope: floatParam(l, 0, 0, f) });
        break;
      case 'Sigmoid':
        expectArity(l, f, 1, 1);
        layers.push({ ...base, type: 'Sigmoid' });
        break;
      case 'rife.Warp':
        expectArity(l, f, 2, 1);
        layers.push({ ...base, type: 'Warp' });
        break;
      case 'Eltwise': {
        expectArity(l, f, 'many', 1);
        const op = intParam(l, 0, 0, f);
        if (op !== 1) unsupported(l, f, `operation type ${op} (only 1 = sum)`);
        const coeffs = arrayParam(l, 1) ?? [];
        if (coeffs.length !== 0 && coeffs.length !== l.inputs.length) {
          unsupported(l, f, `${coeffs.length} coefficients for ${l.inputs.length} inputs`);
        }
        layers.push({ ...base, type: 'Eltwise', op: 'sum', coeffs: coeffs.length ? coeffs : l.inputs.map(() => 1) });
        break;
      }
      case 'Concat': {
        expectArity(l, f, 'many', 1);
        layers.push({ ...base, type: 'Concat', axis: intParam(l, 0, 0, f) });
        break;
      }
      default:
        throw new Error(`${f}:${l.line}: unsupported ncnn op: layer "${l.name}" has type "${l.type}"`);
    }
  }
  reader.finish();

  const input = inputs[0];
  if (input === undefined) throw new Error(`${paramFile}: no Input layer`);
  const produced = new Set<string>();
  const consumed = new Set<string>();
  for (const l of layers) {
    for (const b of l.inputs) {
      if (!produced.has(b)) throw new Error(`${paramFile}: layer ${l.name} (${l.type}) reads blob "${b}" before any layer produces it`);
      if (consumed.has(b)) throw new Error(`${paramFile}: blob "${b}" is consumed twice (ncnn graphs use Split for fan-out)`);
      consumed.add(b);
    }
    for (const b of l.outputs) {
      if (produced.has(b)) throw new Error(`${paramFile}: blob "${b}" is produced twice`);
      produced.add(b);
    }
  }
  const outputs = [...produced].filter((b) => !consumed.has(b));
  if (outputs.length !== 1) throw new Error(`${paramFile}: expected exactly one output blob, found ${outputs.length}: ${outputs.join(', ')}`);
  return { paramFile, binFile, layers, blobCount: raw.blobCount, input, inputs, output: outputs[0]! };
}

/** Parse an ncnn model given the `.param` text and `.bin` bytes. */
export function parseNcnn(paramText: string, bin: Uint8Array, paramFile = 'model.param', binFile = 'model.bin'): NcnnGraph {
  return buildGraph(parseParam(paramText, paramFile), bin, paramFile, binFile);
}

/** Read and parse an ncnn model from disk. */
export async function loadNcnn(paramFile: string, binFile: string): Promise<NcnnGraph> {
  const [text, bin] = await Promise.all([readFile(paramFile, 'utf8'), readFile(binFile)]);
  return parseNcnn(text, new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength), paramFile, binFile);
}
