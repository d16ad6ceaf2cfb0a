/**
 * The int8 form of an SRVGGNetCompact, and the float64 reference that calibrates it.
 *
 * The int8 part of the graph is all-integer (a float op between integer convolutions loses most of their speed): per
 * layer a QLinearConv 3×3 with int8 weights scaled per output channel and uint8 activations, then the PReLU written
 * as in prelu.ts, y + Relu((s − 1)·y), as a depthwise 1×1 QLinearConv whose output zero point of 0 does the Relu, and
 * a QLinearAdd. The 8-bit input's quantisation is exact (k/255 is k); the last `floatTail` convolutions, the pixel
 * shuffle and the residual add are float32.
 *
 * What keeps it close to float32 (calibration.ts measures it): the hidden channels' ranges are equalised before the
 * ranges are taken (`equalise`), each range ends at a high percentile of the calibration's values, and the weights are
 * rounded by GPTQ against their inputs' correlations (`roundAlong`), not to nearest.
 *
 * onnxruntime has no float64 convolution, so the reference writes each 3×3 convolution as the nine shifted copies of
 * its input stacked along channels and one MatMul: float64 throughout, so its statistics, and the fidelity measured
 * against it, do not depend on the CPU that builds the models (float32 kernels differ in rounding from one
 * instruction set to another).
 */
import type { ConvolutionLayer, NcnnGraph } from './ncnn.js';
import { residualPRelu } from './prelu.js';
import { attrInt, attrInts, attrString, DT, encodeModel, imageValue, tensor, valueInfo, type Attribute, type Node, type Tensor } from './onnx.js';

/** An SRVGGNetCompact as a chain: convolutions with a PReLU after each but the last, then pixel shuffle + nearest upsampling of the input. */
export interface SrvggChain {
  readonly name: string;
  /** Weights with prelu.ts's sign flips applied. */
  readonly convs: readonly ConvolutionLayer[];
  /** After convolution i (all but the last): x + Relu(coeff·x), one coefficient per channel. */
  readonly coeffs: readonly Float32Array[];
  /** Pixel shuffle factor: the scale. */
  readonly factor: number;
}

/** The chain of an SRVGGNetCompact graph, or an error naming what does not fit it. */
export function srvggChain(name: string, source: NcnnGraph): SrvggChain {
  const { graph, coeff } = residualPRelu(source);
  const fail = (what: string): never => {
    throw new Error(`${source.paramFile}: not an SRVGGNetCompact chain: ${what}`);
  };
  const convs: ConvolutionLayer[] = [];
  const coeffs: Float32Array[] = [];
  let factor = 0;
  let blob = '';
  let skip = '';
  for (const l of graph.layers) {
    if (l.type === 'Input') blob = l.outputs[0]!;
    else if (l.type === 'Split' && l.inputs[0] === graph.input && l.outputs.length === 2) [skip, blob] = [l.outputs[0]!, l.outputs[1]!];
    else if (l.type === 'Convolution' && l.inputs[0] === blob) {
      const square = l.kernel[0] === 3 && l.kernel[1] === 3 && l.pads.every((p) => p === 1) && l.stride.every((s) => s === 1) && l.dilation.every((d) => d === 1);
      if (!square || l.activation.kind !== 'none' || !l.bias) fail(`layer ${l.name} is not a plain 3×3 convolution with bias`);
      convs.push(l);
      blob = l.outputs[0]!;
    } else if (l.type === 'PReLU' && l.inputs[0] === blob && coeff.has(l.name) && coeffs.length === convs.length - 1) {
      const k = coeff.get(l.name)!;
      coeffs.push(k.length === 1 ? new Float32Array(convs.at(-1)!.numOutput).fill(k[0]!) : k);
      blob = l.outputs[0]!;
    } else if (l.type === 'PixelShuffle' && l.inputs[0] === blob && l.mode === 'CRD') {
      factor = l.factor;
      blob = l.outputs[0]!;
    } else if (l.type === 'Interp' && l.inputs[0] === skip && l.mode === 'nearest' && l.scaleH === factor && l.scaleW === factor) skip = l.outputs[0]!;
    else if (l.type === 'BinaryOp' && l.inputs.includes(blob) && l.inputs.includes(skip) && l.outputs[0] === graph.output) blob = graph.output;
    else fail(`unexpected layer ${l.name} (${l.type})`);
  }
  if (blob !== graph.output || factor === 0 || coeffs.length !== convs.length - 1 || convs[0]!.numInput !== 3) fail('incomplete');
  if (convs.at(-1)!.numOutput !== 3 * factor * factor) fail('the last convolution does not make 3·r² channels');
  return { name, convs, coeffs, factor };
}

// ---------------------------------------------------------------------------------------------
// Graph writing helpers

class Graph {
  readonly nodes: Node[] = [];
  readonly inits: Tensor[] = [];
  private readonly names = new Set<string>();

  name(base: string): string {
    let n = base;
    for (let k = 1; this.names.has(n); k++) n = `${base}_${k}`;
    this.names.add(n);
    return n;
  }
  init(base: string, dims: number[], type: (typeof DT)[keyof typeof DT], data: ArrayLike<number>): string {
    const name = this.name(base);
    this.inits.push(tensor(name, dims, type, data));
    return name;
  }
  node(op: string, input: string[], outBase: string, attribute: Attribute[] = [], domain?: string): string {
    const out = outBase === 'output' ? 'output' : this.name(outBase);
    this.nodes.push({ input, output: [out], name: out, op_type: op, attribute, ...(domain && { domain }) });
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// The float64 reference

/**
 * The chain in float64: input `input` [1,3,H,W], outputs `output` and `y0`…`y{n-1}`, each convolution's output
 * before its activation (the last one's before the pixel shuffle and the residual add), channels last ([1,H,W,C]):
 * the layout in which a MatMul broadcasts over the pixels; with `gramStride`, also `h0`…, the Gram matrix of each
 * convolution's inputs over every gramStride-th pixel, for GPTQ.
 */
export function referenceOnnx(chain: SrvggChain, gramStride = 0): Uint8Array {
  const g = new Graph();
  const gram: string[] = [];
  const pads = g.init('pads', [8], DT.INT64, [0, 1, 1, 0, 0, 1, 1, 0]);
  const axes = g.init('axes', [2], DT.INT64, [1, 2]);
  const far = 2 ** 40;
  const taps = Array.from({ length: 9 }, (_, t) => {
    const [ky, kx] = [Math.floor(t / 3), t % 3];
    return [g.init(`start${t}`, [2], DT.INT64, [ky, kx]), g.init(`end${t}`, [2], DT.INT64, [ky < 2 ? ky - 2 : far, kx < 2 ? kx - 2 : far])];
  });
  const conv = (l: ConvolutionLayer, x: string, out: string): string => {
    const padded = g.node('Pad', [x, pads], `${l.name}.pad`);
    const shifted = taps.map(([s, e], t) => g.node('Slice', [padded, s!, e!, axes], `${l.name}.tap${t}`));
    const stacked = g.node('Concat', shifted, `${l.name}.taps`, [attrInt('axis', 3)]);
    if (gramStride > 0) {
      // The convolution's inputs as rows (one per pixel, tap-major like the weights; every gramStride-th pixel): their
      // Gram matrix, XᵀX.
      const all = g.node('Reshape', [stacked, g.init(`${l.name}.flat`, [2], DT.INT64, [-1, 9 * l.numInput])], `${l.name}.rows`);
      const [start, end, axis, step] = [[0], [far], [0], [gramStride]].map((v, k) => g.init(`${l.name}.gram${k}`, [1], DT.INT64, v));
      const x = g.node('Slice', [all, start!, end!, axis!, step!], `${l.name}.sampled`);
      gram.push(g.node('MatMul', [g.node('Transpose', [x], `${l.name}.xt`, [attrInts('perm', [1, 0])]), x], `h${gram.length}`));
    }
    // Rows tap-major, to match the stacking: row t·C + c holds W[·, c, t].
    const cin = l.numInput;
    const cout = l.numOutput;
    const w = new Float64Array(9 * cin * cout);
    for (let o = 0; o < cout; o++)
      for (let c = 0; c < cin; c++) for (let t = 0; t < 9; t++) w[(t * cin + c) * cout + o] = l.weight.float32[(o * cin + c) * 9 + t]!;
    const product = g.node('MatMul', [stacked, g.init(`${l.name}.weight`, [9 * cin, cout], DT.DOUBLE, w)], `${l.name}.product`);
    return g.node('Add', [product, g.init(`${l.name}.bias`, [cout], DT.DOUBLE, l.bias!)], out);
  };
  const input = g.node('Transpose', ['input'], 'input.nhwc', [attrInts('perm', [0, 2, 3, 1])]);
  let x = input;
  const outputs: string[] = [];
  for (const [i, l] of chain.convs.entries()) {
    const y = conv(l, x, `y${i}`);
    outputs.push(y);
    if (i === chain.convs.length - 1) {
      // out = pixel shuffle(y + each input channel repeated r² times): the nearest upsampling, folded in before the shuffle.
      const r2 = chain.factor ** 2;
      const repeat = new Float64Array(3 * 3 * r2);
      for (let o = 0; o < 3 * r2; o++) repeat[Math.floor(o / r2) * 3 * r2 + o] = 1;
      const sum = g.node('Add', [y, g.node('MatMul', [input, g.init('repeat', [3, 3 * r2], DT.DOUBLE, repeat)], 'repeated')], 'residual');
      const planar = g.node('Transpose', [sum], 'residual.nchw', [attrInts('perm', [0, 3, 1, 2])]);
      g.node('DepthToSpace', [planar], 'output', [attrInt('blocksize', chain.factor), attrString('mode', 'CRD')]);
    } else {
      const scaled = g.node('Mul', [y, g.init(`act${i}.coeff`, [l.numOutput], DT.DOUBLE, chain.coeffs[i]!)], `act${i}.scaled`);
      x = g.node('Add', [y, g.node('Relu', [scaled], `act${i}.relu`)], `act${i}`);
    }
  }
  return encodeModel({
    graphName: `${chain.name}-float64`,
    nodes: g.nodes,
    initializers: g.inits,
    inputs: [imageValue('input', DT.DOUBLE, 3, 'height', 'width')],
    outputs: [
      imageValue('output', DT.DOUBLE, 3, 'out_height', 'out_width'),
      ...outputs.map((name, i) => valueInfo(name, DT.DOUBLE, [1, 'height', 'width', chain.convs[i]!.numOutput])),
      ...gram.map((name, i) => valueInfo(name, DT.DOUBLE, [9 * chain.convs[i]!.numInput, 9 * chain.convs[i]!.numInput])),
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// Calibration statistics

/** The k-th largest of the values seen (k ≥ 1), exactly, keeping only the candidates. */
export class Tail {
  private kept: number[] = [];
  private threshold = -Infinity;
  constructor(private readonly k: number) {}

  add(v: number): void {
    if (v <= this.threshold) return;
    this.kept.push(v);
    if (this.kept.length >= 8 * this.k + 1024) this.trim();
  }

  private trim(): void {
    this.kept.sort((a, b) => b - a);
    this.kept.length = Math.min(this.kept.length, this.k);
    if (this.kept.length === this.k) this.threshold = this.kept[this.k - 1]!;
  }

  /** The k-th largest value, or the smallest seen when fewer than k were seen. */
  value(): number {
    this.trim();
    return this.kept.at(-1) ?? 0;
  }
}

/** The tails of one activation tensor's values. */
export class TensorStats {
  readonly high: Tail;
  readonly low: Tail;

  constructor(tail: number) {
    this.high = new Tail(tail);
    this.low = new Tail(tail);
  }

  add(data: ArrayLike<number>): void {
    for (let p = 0; p < data.length; p++) {
      this.high.add(data[p]!);
      this.low.add(-data[p]!);
    }
  }

  /** [lo, hi]: the tails' values, widened to include 0 (zero padding must be exact). */
  range(): [number, number] {
    return [Math.min(0, -this.low.value()), Math.max(0, this.high.value())];
  }
}

/** What calibration measured: per convolution, its output (before the activation) and, but for the last, the activation's parts. */
export interface Calibration {
  readonly y: TensorStats[];
  readonly relu: TensorStats[];
  readonly act: TensorStats[];
}

/**
 * Empty statistics for `pixels` input pixels in all, where each range is to end at `percentile` of its tensor's
 * values (99.99: 0.01 % lie beyond each end).
 */
export function newCalibration(chain: SrvggChain, pixels: number, percentile: number): Calibration {
  const stats = (channels: number) => new TensorStats(Math.max(1, Math.round(((100 - percentile) / 100) * channels * pixels)));
  const hidden = chain.convs.slice(0, -1);
  return {
    y: chain.convs.map((l) => stats(l.numOutput)),
    relu: hidden.map((l) => stats(l.numOutput)),
    act: hidden.map((l) => stats(l.numOutput)),
  };
}

/** Adds one image's reference convolution outputs (`y0`…, channels last) to the statistics. */
export function calibrate(chain: SrvggChain, into: Calibration, y: readonly Float64Array[]): void {
  for (const [i, l] of chain.convs.entries()) {
    const c = l.numOutput;
    into.y[i]!.add(y[i]!);
    if (i === chain.convs.length - 1) break;
    const k = chain.coeffs[i]!;
    const relu = new Float64Array(y[i]!.length);
    const act = new Float64Array(y[i]!.length);
    for (let p = 0; p < relu.length; p++) {
      const v = y[i]![p]!;
      const r = Math.max(0, k[p % c]! * v);
      relu[p] = r;
      act[p] = v + r;
    }
    into.relu[i]!.add(relu);
    into.act[i]!.add(act);
  }
}

/**
 * The same network with each hidden channel's activations brought to a like range (cross-layer equalisation, Nagel
 * et al. 2019): convolution i's output channel c scaled by s ≥ 1, convolution i + 1's weights on that channel by 1/s.
 * The same function to float32 rounding (the activation, x + Relu(k·x), commutes with a positive scale), and it lets
 * one uint8 range per tensor serve every channel: without it the quiet channels get a few of the 256 steps.
 * `ranges[i][c]` is channel c's largest magnitude after convolution i; `strength` 1 equalises fully, less leaves
 * part of the spread to the activations, sparing the next layer's weights, which shrink on the scaled channels.
 */
export function equalise(chain: SrvggChain, ranges: readonly Float64Array[], strength: number, maxScale = 64): SrvggChain {
  const convs = chain.convs.map((l) => ({ ...l, weight: { ...l.weight, float32: Float32Array.from(l.weight.float32) }, bias: Float32Array.from(l.bias!) }));
  for (const [i, r] of ranges.entries()) {
    const top = Math.max(...r);
    const [here, next] = [convs[i]!, convs[i + 1]!];
    const per = here.numInput * 9;
    for (let c = 0; c < r.length; c++) {
      const s = r[c]! > 0 ? Math.min(maxScale, (top / r[c]!) ** strength) : 1;
      if (s === 1) continue;
      for (let k = 0; k < per; k++) here.weight.float32[c * per + k]! *= s;
      here.bias[c]! *= s;
      for (let o = 0; o < next.numOutput; o++) for (let t = 0; t < 9; t++) next.weight.float32[(o * next.numInput + c) * 9 + t]! /= s;
    }
  }
  return { ...chain, convs };
}

// ---------------------------------------------------------------------------------------------
// Quantisation

interface Affine {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** uint8 quantisation of the real range [lo, hi] (lo ≤ 0 ≤ hi): 0 is exact, so zero padding is too. */
function affine([lo, hi]: [number, number]): Affine {
  const scale = Math.fround(hi > lo ? (hi - lo) / 255 : 1);
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-lo / scale))) };
}

/**
 * Symmetric int8 weights, one scale per output channel, with no two neighbours that could overflow 16 bits.
 *
 * CPUs without VNNI multiply uint8 activations by int8 weights with an instruction (vpmaddubsw) that adds each
 * neighbouring pair of products in 16 bits, saturating: onnxruntime pairs weights 2j and 2j + 1 of a row in
 * (tap, channel) order, channels innermost. With activations up to 255, two same-sign neighbours must have
 * |q1| + |q2| ≤ 128; then every CPU computes the same exact sums, so the int8 output (and this build's fidelity
 * figure) does not depend on the CPU. Within that, each channel's scale is the one with the least squared error.
 */
function perChannel(l: ConvolutionLayer, hessian?: Float64Array): { q: Int8Array; scale: Float32Array } {
  const u = hessian && inverseFactor(hessian, l.numInput * 9);
  const { numOutput: rows, numInput: channels } = l;
  const taps = l.kernel[0] * l.kernel[1];
  const per = channels * taps;
  const q = new Int8Array(l.weight.float32.length);
  const scale = new Float32Array(rows);
  const row = new Float64Array(per);
  const candidate = new Int8Array(per);
  /** Quantises `row` (K order) at scale s into `out`, pairs kept within the bound; returns the squared error. */
  const quantise = (s: number, out: Int8Array): number => {
    let error = 0;
    for (let k = 0; k < per; k += 2) {
      const a = row[k]! / s;
      const b = k + 1 < per ? row[k + 1]! / s : 0;
      let qa = Math.max(-127, Math.min(127, Math.round(a)));
      let qb = Math.max(-127, Math.min(127, Math.round(b)));
      if (qa * qb > 0 && Math.abs(qa) + Math.abs(qb) > 128) {
        // Move both magnitudes down by the same amount onto |qa| + |qb| = 128, the nearest point of the bound.
        const excess = (Math.abs(a) + Math.abs(b) - 128) / 2;
        const ma = Math.max(0, Math.min(127, Math.round(Math.abs(a) - excess)));
        qa = Math.sign(qa) * ma;
        qb = Math.sign(qb) * Math.min(127, 128 - ma);
      }
      out[k] = qa;
      error += (a - qa) ** 2 * s * s;
      if (k + 1 < per) {
        out[k + 1] = qb;
        error += (b - qb) ** 2 * s * s;
      }
    }
    return error;
  };
  for (let o = 0; o < rows; o++) {
    let max = 0;
    let pair = 0;
    for (let t = 0; t < taps; t++) for (let c = 0; c < channels; c++) row[t * channels + c] = l.weight.float32[(o * channels + c) * taps + t]!;
    for (let k = 0; k < per; k++) {
      max = Math.max(max, Math.abs(row[k]!));
      if (k % 2 === 0 && k + 1 < per && row[k]! * row[k + 1]! > 0) pair = Math.max(pair, Math.abs(row[k]!) + Math.abs(row[k + 1]!));
    }
    // From 60 % of max/127 (clipping the largest weights) up to the scale at which no pair needs moving.
    const low = (0.6 * max) / 127;
    const high = Math.max(max / 127, pair / 128);
    let best = high > 0 ? high : 1;
    let bestError = Infinity;
    for (let step = 0; step <= 60 && high > 0; step++) {
      const s = Math.fround(low * (high / low) ** (step / 60));
      const error = quantise(s, candidate);
      if (error < bestError) [bestError, best] = [error, s];
    }
    scale[o] = best;
    if (u) roundAlong(row, best, u, candidate);
    else quantise(best, candidate);
    for (let t = 0; t < taps; t++) for (let c = 0; c < channels; c++) q[(o * channels + c) * taps + t] = candidate[t * channels + c]!;
  }
  return { q, scale };
}

/**
 * The upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU) for a convolution's inputs' Gram matrix H (K × K), damped by 1 % of
 * its mean diagonal, as GPTQ (Frantar et al. 2022) uses it. H is first rounded to float32 so that float64 rounding
 * noise from the CPU that summed it cannot change a weight.
 */
function inverseFactor(gram: Float64Array, k: number): Float64Array {
  const h = Float64Array.from(gram, (v) => Math.fround(v));
  let mean = 0;
  for (let i = 0; i < k; i++) mean += h[i * k + i]! / k;
  for (let i = 0; i < k; i++) h[i * k + i] = h[i * k + i]! === 0 ? 1 : h[i * k + i]! + 0.01 * mean;
  const cholesky = (a: Float64Array) => {
    // In place: the lower factor L (A = LLᵀ) in the lower triangle; the upper one zeroed.
    for (let j = 0; j < k; j++) {
      let d = a[j * k + j]!;
      for (let p = 0; p < j; p++) d -= a[j * k + p]! ** 2;
      d = Math.sqrt(Math.max(d, 1e-300));
      a[j * k + j] = d;
      for (let i = j + 1; i < k; i++) {
        let v = a[i * k + j]!;
        for (let p = 0; p < j; p++) v -= a[i * k + p]! * a[j * k + p]!;
        a[i * k + j] = v / d;
      }
      for (let i = 0; i < j; i++) a[i * k + j] = 0;
    }
  };
  cholesky(h);
  // L⁻¹ by forward substitution, then H⁻¹ = L⁻ᵀL⁻¹.
  const inv = new Float64Array(k * k);
  for (let c = 0; c < k; c++) {
    for (let i = c; i < k; i++) {
      let v = i === c ? 1 : 0;
      for (let p = c; p < i; p++) v -= h[i * k + p]! * inv[p * k + c]!;
      inv[i * k + c] = v / h[i * k + i]!;
    }
  }
  const hinv = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j <= i; j++) {
      let v = 0;
      for (let p = i; p < k; p++) v += inv[p * k + i]! * inv[p * k + j]!;
      hinv[i * k + j] = v;
      hinv[j * k + i] = v;
    }
  cholesky(hinv);
  // U = Mᵀ for H⁻¹ = MMᵀ.
  const u = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) u[i * k + j] = hinv[j * k + i]!;
  return u;
}

/**
 * GPTQ's rounding of one row (K order) at scale s: each weight's rounding error is spread over the weights not yet
 * rounded as the inputs' correlations say, so the convolution's output error, not the weights', is kept small. The
 * pair bound (see perChannel) holds: a pair's second weight is clamped against its first.
 */
function roundAlong(source: Float64Array, s: number, u: Float64Array, out: Int8Array): void {
  const k = source.length;
  const w = Float64Array.from(source);
  for (let i = 0; i < k; i++) {
    let q = Math.max(-127, Math.min(127, Math.round(w[i]! / s)));
    if (i % 2 === 1 && q * out[i - 1]! > 0 && Math.abs(q) + Math.abs(out[i - 1]!) > 128) q = Math.sign(q) * (128 - Math.abs(out[i - 1]!));
    out[i] = q;
    const e = (w[i]! - q * s) / u[i * k + i]!;
    for (let j = i + 1; j < k; j++) w[j] = w[j]! - e * u[i * k + j]!;
  }
}

/** How the int8 graph is made beyond the calibration's ranges. */
export interface Int8Options {
  /** The last `floatTail` convolutions (with their activations) stay float32, after one DequantizeLinear. */
  readonly floatTail?: number;
  /** Per convolution, the Gram matrix of its inputs (referenceOnnx's `h<i>`): the weights are then rounded by GPTQ. */
  readonly grams?: readonly Float64Array[];
}

/** The int8 graph: input and output as the float32 model's, so the tool runs either the same way. */
export function int8Onnx(chain: SrvggChain, stats: Calibration, docString: string, { floatTail = 0, grams }: Int8Options = {}): Uint8Array {
  const g = new Graph();
  const scalar = (base: string, v: number) => g.init(base, [], DT.FLOAT, [v]);
  const zero = (base: string, v: number) => g.init(base, [], DT.UINT8, [v]);
  const q = (base: string, a: Affine) => [scalar(`${base}.scale`, a.scale), zero(`${base}.zero_point`, a.zeroPoint)];

  const last = chain.convs.length - 1;
  const firstFloat = chain.convs.length - floatTail;
  // The 8-bit input's quantisation is exact: k/255 is k.
  let xq: Affine = { scale: Math.fround(1 / 255), zeroPoint: 0 };
  let x = firstFloat > 0 ? g.node('QuantizeLinear', ['input', ...q('input', xq)], 'input.q') : 'input';
  const upsampled = () =>
    g.node('Resize', ['input', '', g.init('upsample.scales', [4], DT.FLOAT, [1, 1, chain.factor, chain.factor])], 'upsampled', [
      attrString('coordinate_transformation_mode', 'asymmetric'),
      attrString('mode', 'nearest'),
      attrString('nearest_mode', 'floor'),
    ]);
  const shuffle = (real: string) => g.node('DepthToSpace', [real], 'shuffled', [attrInt('blocksize', chain.factor), attrString('mode', 'CRD')]);
  for (const [i, l] of chain.convs.entries()) {
    const c = l.numOutput;
    if (i >= firstFloat) {
      const real = i === firstFloat && i > 0 ? g.node('DequantizeLinear', [x, ...q(`${l.name}.x`, xq)], `${l.name}.x.float`) : x;
      const y = g.node(
        'Conv',
        [real, g.init(`${l.name}.weight`, [c, l.numInput, 3, 3], DT.FLOAT, l.weight.float32), g.init(`${l.name}.bias`, [c], DT.FLOAT, l.bias!)],
        l.name,
        [attrInts('kernel_shape', [3, 3]), attrInts('pads', [1, 1, 1, 1])],
      );
      if (i === last) {
        g.node('Add', [shuffle(y), upsampled()], 'output');
        break;
      }
      const scaled = g.node('Mul', [y, g.init(`act${i}.coeff`, [c, 1, 1], DT.FLOAT, chain.coeffs[i]!)], `act${i}.scaled`);
      x = g.node('Add', [y, g.node('Relu', [scaled], `act${i}.relu`)], `act${i}`);
      continue;
    }
    const w = perChannel(l, grams?.[i]);
    const bias = Int32Array.from(l.bias!, (b, o) => Math.round(b / (xq.scale * w.scale[o]!)));
    const yq = affine(stats.y[i]!.range());
    const y = g.node(
      'QLinearConv',
      [
        x, ...q(`${l.name}.x`, xq),
        g.init(`${l.name}.weight`, [c, l.numInput, 3, 3], DT.INT8, w.q),
        g.init(`${l.name}.weight_scale`, [c], DT.FLOAT, w.scale),
        g.init(`${l.name}.weight_zero_point`, [c], DT.INT8, new Int8Array(c)),
        ...q(`${l.name}.y`, yq),
        g.init(`${l.name}.bias`, [c], DT.INT32, bias),
      ],
      l.name,
      [attrInts('kernel_shape', [3, 3]), attrInts('pads', [1, 1, 1, 1])],
    );
    if (i === last) {
      const real = g.node('DequantizeLinear', [y, ...q(`${l.name}.out`, yq)], `${l.name}.float`);
      g.node('Add', [shuffle(real), upsampled()], 'output');
      break;
    }
    const k = chain.coeffs[i]!;
    const dwScale = Float32Array.from(k, (v) => (v === 0 ? 1 : Math.abs(v) / 127));
    const rq: Affine = { scale: affine(stats.relu[i]!.range()).scale, zeroPoint: 0 };
    const relu = g.node(
      'QLinearConv',
      [
        y, ...q(`act${i}.y`, yq),
        g.init(`act${i}.coeff`, [c, 1, 1, 1], DT.INT8, Int8Array.from(k, (v, ch) => Math.round(v / dwScale[ch]!))),
        g.init(`act${i}.coeff_scale`, [c], DT.FLOAT, dwScale),
        g.init(`act${i}.coeff_zero_point`, [c], DT.INT8, new Int8Array(c)),
        // Zero point 0: the negative values clamp to 0, which is the Relu.
        ...q(`act${i}.relu`, rq),
      ],
      `act${i}.relu`,
      [attrInt('group', c), attrInts('kernel_shape', [1, 1])],
    );
    const aq = affine(stats.act[i]!.range());
    x = g.node('QLinearAdd', [y, ...q(`act${i}.a`, yq), relu, ...q(`act${i}.b`, rq), ...q(`act${i}.sum`, aq)], `act${i}`, [], 'com.microsoft');
    xq = aq;
  }
  return encodeModel({
    graphName: `${chain.name}-int8`,
    docString,
    nodes: g.nodes,
    initializers: g.inits,
    inputs: [imageValue('input', DT.FLOAT, 3, 'height', 'width')],
    outputs: [imageValue('output', DT.FLOAT, 3, 'out_height', 'out_width')],
    extraOpsets: [{ domain: 'com.microsoft', version: 1 }],
  });
}
