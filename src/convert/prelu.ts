/**
 * PReLU written as x + Relu((s − 1)·x), exact for every slope s ≤ 1. onnxruntime keeps a convolution network in its
 * blocked (NCHWc) layout through BatchNormalization, Relu and Add but not through PRelu, which costs a reorder out
 * and back in around every activation (about a fifth of realesr-general-x4v3's time).
 *
 * A channel whose slope is above 1 is negated first: its convolution's output channel and the matching input channel
 * of every convolution that reads the activation change sign, and with y' = −y the same formula gives
 * y' + Relu((s − 1)·y') = −PReLU(y), which those convolutions negate back. Negating a weight is exact (float16 too),
 * so the network computes the same function up to float32 rounding.
 */
import type { ConvolutionLayer, NcnnGraph, NcnnLayer, PReLULayer, WeightBlob } from './ncnn.js';

export interface ResidualPRelu {
  /** The graph with the negated channels' convolution weights and biases flipped. */
  readonly graph: NcnnGraph;
  /**
   * For each PReLU layer (by name) that is to be written as x + Relu(coeff·x): coeff = s − 1, one per channel (or one
   * shared). A PReLU missing here has a slope above 1 that cannot be negated away and stays a PRelu.
   */
  readonly coeff: ReadonlyMap<string, Float32Array>;
}

/** The layers reading each blob, through Splits. */
function readers(g: NcnnGraph): Map<string, NcnnLayer[]> {
  const direct = new Map<string, NcnnLayer[]>();
  for (const l of g.layers) for (const b of l.inputs) direct.set(b, [...(direct.get(b) ?? []), l]);
  const expand = (blob: string): NcnnLayer[] =>
    (direct.get(blob) ?? []).flatMap((l) => (l.type === 'Split' ? l.outputs.flatMap(expand) : [l]));
  return new Map([...direct.keys()].map((b) => [b, expand(b)]));
}

function flipWeights(l: ConvolutionLayer, out: Int8Array | undefined, inp: Int8Array | undefined): ConvolutionLayer {
  const perOut = l.weight.float32.length / l.numOutput;
  const perIn = perOut / l.numInput;
  const sign = (k: number): number => (out?.[Math.floor(k / perOut)] ?? 1) * (inp?.[Math.floor((k % perOut) / perIn)] ?? 1);
  const weight: WeightBlob = {
    float32: l.weight.float32.map((v, k) => sign(k) * v),
    ...(l.weight.float16 && { float16: l.weight.float16.map((h, k) => (sign(k) < 0 ? h ^ 0x8000 : h)) }),
  };
  return { ...l, weight, ...(l.bias && { bias: l.bias.map((v, o) => (out?.[o] ?? 1) * v) }) };
}

export function residualPRelu(g: NcnnGraph): ResidualPRelu {
  const producer = new Map<string, NcnnLayer>();
  for (const l of g.layers) for (const b of l.outputs) producer.set(b, l);
  const readBy = readers(g);
  /** Per convolution: the sign of each output channel, and of each input channel. */
  const outSign = new Map<string, Int8Array>();
  const inSign = new Map<string, Int8Array>();
  const coeff = new Map<string, Float32Array>();

  for (const l of g.layers) {
    if (l.type !== 'PReLU') continue;
    if (l.slope.every((s) => s <= 1)) {
      coeff.set(l.name, l.slope.map((s) => s - 1));
      continue;
    }
    const conv = producer.get(l.inputs[0]!);
    const next = readBy.get(l.outputs[0]!) ?? [];
    const negatable =
      conv?.type === 'Convolution' &&
      conv.activation.kind === 'none' &&
      !outSign.has(conv.name) &&
      next.length > 0 &&
      next.every((n) => n.type === 'Convolution' && !inSign.has(n.name));
    if (!negatable) continue;
    const slope = expand(l, conv.numOutput);
    const signs = Int8Array.from(slope, (s) => (s > 1 ? -1 : 1));
    outSign.set(conv.name, signs);
    for (const n of next) inSign.set(n.name, signs);
    coeff.set(l.name, slope.map((s) => s - 1));
  }

  const layers = g.layers.map((l) =>
    l.type === 'Convolution' && (outSign.has(l.name) || inSign.has(l.name)) ? flipWeights(l, outSign.get(l.name), inSign.get(l.name)) : l,
  );
  return { graph: { ...g, layers }, coeff };
}

function expand(l: PReLULayer, channels: number): Float32Array {
  return l.slope.length === 1 ? new Float32Array(channels).fill(l.slope[0]!) : l.slope;
}
