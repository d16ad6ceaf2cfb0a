/**
 * Converter unit tests on tiny hand-built ncnn graphs: each op is converted to ONNX, run with
 * onnxruntime-node and compared with a straightforward reference written here in plain TS.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNcnn, type NcnnGraph } from '../src/convert/ncnn.js';
import { analyzeGraph } from '../src/convert/analysis.js';
import { calibrate, int8Onnx, newCalibration, referenceOnnx, srvggChain, Tail } from '../src/convert/int8.js';
import { decodeOnnx, ncnnToOnnx, type OnnxOptions } from '../src/convert/onnx.js';

// ---------------------------------------------------------------------------------------------
// Reference tensors and ops (CHW, batch 1, float64)

interface T3 {
  c: number;
  h: number;
  w: number;
  d: Float64Array;
}
const t3 = (c: number, h: number, w: number, d = new Float64Array(c * h * w)): T3 => ({ c, h, w, d });
const at = (x: T3, c: number, y: number, xx: number): number => x.d[(c * x.h + y) * x.w + xx]!;

function conv(
  x: T3,
  weight: number[],
  bias: number[] | undefined,
  cout: number,
  k: number,
  { pad = (k - 1) / 2, dil = 1, stride = 1 }: { pad?: number; dil?: number; stride?: number } = {},
): T3 {
  const oh = Math.floor((x.h + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
  const ow = Math.floor((x.w + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
  const out = t3(cout, oh, ow);
  for (let o = 0; o < cout; o++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        let s = bias ? bias[o]! : 0;
        for (let i = 0; i < x.c; i++)
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const sy = y * stride - pad + ky * dil;
              const sx = xx * stride - pad + kx * dil;
              if (sy < 0 || sx < 0 || sy >= x.h || sx >= x.w) continue;
              s += weight[((o * x.c + i) * k + ky) * k + kx]! * at(x, i, sy, sx);
            }
        out.d[(o * oh + y) * ow + xx] = s;
      }
  return out;
}
const map = (x: T3, f: (v: number, c: number) => number): T3 => {
  const out = t3(x.c, x.h, x.w);
  const n = x.h * x.w;
  for (let i = 0; i < x.d.length; i++) out.d[i] = f(x.d[i]!, Math.floor(i / n));
  return out;
};
/**
 * ncnn's Deconvolution loop: input pixel (y, x) adds weight[o][i][ky][kx] · x[i][y][x] at output
 * (y·stride + ky·dil, x·stride + kx·dil), weights stored output channel first; then `pad` is cut from every side.
 */
function deconv(x: T3, weight: number[], bias: number[] | undefined, cout: number, k: number, { stride = 1, pad = 0, dil = 1 } = {}): T3 {
  const fh = (x.h - 1) * stride + dil * (k - 1) + 1;
  const fw = (x.w - 1) * stride + dil * (k - 1) + 1;
  const full = t3(cout, fh, fw);
  for (let o = 0; o < cout; o++) {
    full.d.fill(bias ? bias[o]! : 0, o * fh * fw, (o + 1) * fh * fw);
    for (let i = 0; i < x.c; i++)
      for (let y = 0; y < x.h; y++)
        for (let xx = 0; xx < x.w; xx++)
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++)
              full.d[(o * fh + y * stride + ky * dil) * fw + xx * stride + kx * dil]! += weight[((o * x.c + i) * k + ky) * k + kx]! * at(x, i, y, xx);
  }
  return crop(full, pad, pad, fh - 2 * pad, fw - 2 * pad);
}
/** The h × w window of x from (top, left), every channel. */
function crop(x: T3, top: number, left: number, h: number, w: number, c0 = 0, c = x.c): T3 {
  const out = t3(c, h, w);
  for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) out.d[(ch * h + y) * w + xx] = at(x, c0 + ch, top + y, left + xx);
  return out;
}
/** A per-channel vector (ncnn's 1-D blob after a global pooling) as C × 1 × 1. */
const globalAverage = (x: T3): T3 =>
  t3(x.c, 1, 1, Float64Array.from({ length: x.c }, (_, c) => x.d.subarray(c * x.h * x.w, (c + 1) * x.h * x.w).reduce((s, v) => s + v, 0) / (x.h * x.w)));
const fullyConnected = (v: T3, weight: number[], bias: number[] | undefined, cout: number): T3 =>
  t3(cout, 1, 1, Float64Array.from({ length: cout }, (_, o) => v.d.reduce((s, x, i) => s + weight[o * v.c + i]! * x, bias ? bias[o]! : 0)));
const perChannel = (x: T3, v: T3, f: (a: number, b: number) => number): T3 => map(x, (a, c) => f(a, v.d[c]!));
const sigmoid = (x: T3) => map(x, (v) => 1 / (1 + Math.exp(-v)));
const relu = (x: T3) => map(x, (v) => Math.max(0, v));
const leaky = (x: T3, a: number) => map(x, (v) => (v >= 0 ? v : a * v));
const prelu = (x: T3, s: number[]) => map(x, (v, c) => (v >= 0 ? v : s[s.length === 1 ? 0 : c]! * v));
function pixelShuffle(x: T3, r: number): T3 {
  const out = t3(x.c / (r * r), x.h * r, x.w * r);
  for (let c = 0; c < out.c; c++)
    for (let y = 0; y < out.h; y++)
      for (let xx = 0; xx < out.w; xx++)
        out.d[(c * out.h + y) * out.w + xx] = at(x, c * r * r + (y % r) * r + (xx % r), Math.floor(y / r), Math.floor(xx / r));
  return out;
}
function nearest(x: T3, s: number): T3 {
  const out = t3(x.c, Math.floor(x.h * s), Math.floor(x.w * s));
  for (let c = 0; c < out.c; c++)
    for (let y = 0; y < out.h; y++)
      for (let xx = 0; xx < out.w; xx++)
        out.d[(c * out.h + y) * out.w + xx] = at(x, c, Math.min(x.h - 1, Math.floor(y / s)), Math.min(x.w - 1, Math.floor(xx / s)));
  return out;
}
/** Separable resampling along one axis with half-pixel centres and clamped (replicated) edges. */
function resample1d(x: T3, s: number, axis: 'h' | 'w', taps: (t: number) => Array<[number, number]>): T3 {
  const oh = axis === 'h' ? Math.floor(x.h * s) : x.h;
  const ow = axis === 'w' ? Math.floor(x.w * s) : x.w;
  const len = axis === 'h' ? x.h : x.w;
  const out = t3(x.c, oh, ow);
  for (let c = 0; c < x.c; c++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        const o = axis === 'h' ? y : xx;
        const src = (o + 0.5) / s - 0.5;
        const i0 = Math.floor(src);
        let v = 0;
        for (const [di, wgt] of taps(src - i0)) {
          const i = Math.min(len - 1, Math.max(0, i0 + di));
          v += wgt * (axis === 'h' ? at(x, c, i, xx) : at(x, c, y, i));
        }
        out.d[(c * oh + y) * ow + xx] = v;
      }
  return out;
}
const A = -0.75;
const cubicW = (t: number): number => {
  const a = Math.abs(t);
  if (a <= 1) return (A + 2) * a ** 3 - (A + 3) * a ** 2 + 1;
  if (a < 2) return A * a ** 3 - 5 * A * a ** 2 + 8 * A * a - 4 * A;
  return 0;
};
const cubicTaps = (t: number): Array<[number, number]> => [
  [-1, cubicW(t + 1)],
  [0, cubicW(t)],
  [1, cubicW(1 - t)],
  [2, cubicW(2 - t)],
];
const linearTaps = (t: number): Array<[number, number]> => [
  [0, 1 - t],
  [1, t],
];
const bicubic = (x: T3, s: number) => resample1d(resample1d(x, s, 'h', cubicTaps), s, 'w', cubicTaps);
const bilinear = (x: T3, s: number) => resample1d(resample1d(x, s, 'h', linearTaps), s, 'w', linearTaps);
const add = (...xs: Array<[T3, number]>): T3 => {
  const out = t3(xs[0]![0].c, xs[0]![0].h, xs[0]![0].w);
  for (const [x, k] of xs) for (let i = 0; i < out.d.length; i++) out.d[i] = out.d[i]! + k * x.d[i]!;
  return out;
};
const concat = (...xs: T3[]): T3 => {
  const d = new Float64Array(xs.reduce((s, x) => s + x.d.length, 0));
  let off = 0;
  for (const x of xs) {
    d.set(x.d, off);
    off += x.d.length;
  }
  return t3(xs.reduce((s, x) => s + x.c, 0), xs[0]!.h, xs[0]!.w, d);
};

// ---------------------------------------------------------------------------------------------
// Deterministic data: values k/64 with |k| ≤ 64 are exact in float16 and float32.

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const rand = rng(12345);
const weights = (n: number): number[] => Array.from({ length: n }, () => Math.round((rand() * 2 - 1) * 40) / 64);
const image = (c: number, h: number, w: number): T3 => t3(c, h, w, Float64Array.from({ length: c * h * w }, () => rand()));

/** float → binary16 bits, for values exactly representable as normal float16 numbers or zero. */
function exactHalf(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const mant = (a / 2 ** e - 1) * 1024;
  if (!Number.isInteger(mant) || e < -14 || e > 15) throw new Error(`${v} is not exact in float16`);
  return sign | ((e + 15) << 10) | mant;
}

// ---------------------------------------------------------------------------------------------
// ncnn writer

class NcnnWriter {
  private readonly lines: string[] = [];
  private readonly blobs = new Set<string>();
  private readonly chunks: Uint8Array[] = [];

  layer(type: string, name: string, ins: string[], outs: string[], params = ''): this {
    this.lines.push(`${type.padEnd(16)} ${name.padEnd(16)} ${ins.length} ${outs.length} ${[...ins, ...outs].join(' ')} ${params}`.trimEnd());
    outs.forEach((b) => this.blobs.add(b));
    return this;
  }
  raw32(values: number[]): this {
    const b = new Uint8Array(values.length * 4);
    const v = new DataView(b.buffer);
    values.forEach((x, i) => v.setFloat32(4 * i, x, true));
    this.chunks.push(b);
    return this;
  }
  /** weight blob: 4-byte tag then data; fp16 data is padded to a multiple of 4 bytes */
  tagged(values: number[], format: 'fp16' | 'fp32'): this {
    if (format === 'fp32') {
      this.chunks.push(new Uint8Array(4));
      return this.raw32(values);
    }
    const b = new Uint8Array(4 + Math.ceil((values.length * 2) / 4) * 4);
    const v = new DataView(b.buffer);
    v.setUint32(0, 0x01306b47, true);
    values.forEach((x, i) => v.setUint16(4 + 2 * i, exactHalf(x), true));
    this.chunks.push(b);
    return this;
  }
  /** Convolution layer plus its weights. */
  conv(
    name: string,
    input: string,
    output: string,
    p: { cout: number; cin: number; k: number; w: number[]; b?: number[]; act?: string; dil?: number; pad?: number; stride?: number; fmt?: 'fp16' | 'fp32' },
  ): this {
    const pad = p.pad ?? ((p.k - 1) / 2) * (p.dil ?? 1);
    const params = [`0=${p.cout}`, `1=${p.k}`, ...(p.dil ? [`2=${p.dil}`] : []), ...(p.stride ? [`3=${p.stride}`] : []), `4=${pad}`, `5=${p.b ? 1 : 0}`, `6=${p.w.length}`];
    if (p.act) params.push(p.act);
    this.layer('Convolution', name, [input], [output], params.join(' '));
    this.tagged(p.w, p.fmt ?? 'fp16');
    if (p.b) this.raw32(p.b);
    return this;
  }
  param(): string {
    return `7767517\n${this.lines.length} ${this.blobs.size}\n${this.lines.join('\n')}\n`;
  }
  bin(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((s, c) => s + c.length, 0));
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

let dir: string;
let fileCounter = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ncnn-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(param: string, bin: Uint8Array): Promise<{ param: string; bin: string }> {
  const base = join(dir, `m${fileCounter++}`);
  await writeFile(`${base}.param`, param);
  await writeFile(`${base}.bin`, bin);
  return { param: `${base}.param`, bin: `${base}.bin` };
}

async function load(w: NcnnWriter): Promise<NcnnGraph> {
  const f = await write(w.param(), w.bin());
  return loadNcnn(f.param, f.bin);
}

/** What a graph with its poolings opened (OnnxOptions.pools) is fed for pool k: a mean to use, and a region. */
interface PoolFeed {
  mean?: Float64Array;
  region?: [number, number, number, number];
}

/** Runs the model; pool inputs, when it has them, get `pools[k]` or the plain network's values. */
async function runOnnxAll(bytes: Uint8Array, x: T3, pools: PoolFeed[] = []): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
  const feeds: Record<string, ort.Tensor> = { input: new ort.Tensor('float32', Float32Array.from(x.d), [1, x.c, x.h, x.w]) };
  for (const meta of session.inputMetadata.slice(1)) {
    const [, k, what] = /^pool(\d+)\.(use|mean|region)$/.exec(meta.name)!;
    const feed = pools[Number(k)] ?? {};
    const shape = ('shape' in meta ? meta.shape : []) as number[];
    if (what === 'use') feeds[meta.name] = new ort.Tensor('bool', [feed.mean !== undefined], []);
    if (what === 'mean') feeds[meta.name] = new ort.Tensor('float32', feed.mean ? Float32Array.from(feed.mean) : new Float32Array(shape[1]!), shape);
    if (what === 'region') feeds[meta.name] = new ort.Tensor('int64', BigInt64Array.from((feed.region ?? [0, 1e9, 0, 1e9]).map(BigInt)), [4]);
  }
  const result = await session.run(feeds);
  await session.release();
  return result;
}

async function runOnnx(bytes: Uint8Array, x: T3, pools?: PoolFeed[]): Promise<T3> {
  const out = (await runOnnxAll(bytes, x, pools)).output!;
  const [, c, h, w] = out.dims as number[];
  return t3(c!, h!, w!, Float64Array.from(out.data as Float32Array));
}

function expectClose(got: T3, expected: T3, tol = 2e-5): void {
  expect([got.c, got.h, got.w]).toEqual([expected.c, expected.h, expected.w]);
  let maxErr = 0;
  for (let i = 0; i < got.d.length; i++) maxErr = Math.max(maxErr, Math.abs(got.d[i]! - expected.d[i]!));
  expect(maxErr).toBeLessThan(tol);
}

/** Convert, run, and compare with the reference. */
async function check(w: NcnnWriter, x: T3, expected: T3, tol = 2e-5, options: OnnxOptions = {}): Promise<NcnnGraph> {
  const g = await load(w);
  const got = await runOnnx(ncnnToOnnx(g, options), x);
  expect([got.c, got.h, got.w]).toEqual([expected.c, expected.h, expected.w]);
  let maxErr = 0;
  for (let i = 0; i < got.d.length; i++) maxErr = Math.max(maxErr, Math.abs(got.d[i]! - expected.d[i]!));
  expect(maxErr).toBeLessThan(tol);
  return g;
}

// ---------------------------------------------------------------------------------------------

describe('ncnn → ONNX, op by op against a plain-TS reference', () => {
  for (const fmt of ['fp16', 'fp32'] as const) {
    it(`Convolution 3×3 + bias + ReLU, ${fmt} weights (odd weight count)`, async () => {
      const x = image(1, 5, 6);
      const wt = weights(3 * 1 * 9); // 27 values: fp16 blob needs 2 bytes of padding
      const b = weights(3);
      const w = new NcnnWriter().layer('Input', 'in', [], ['data']).conv('c1', 'data', 'out', { cout: 3, cin: 1, k: 3, w: wt, b, act: '9=1', fmt });
      const g = await check(w, x, relu(conv(x, wt, b, 3, 3)));
      const c = g.layers[1]!;
      expect(c.type === 'Convolution' && c.weight.float16 !== undefined).toBe(fmt === 'fp16');
    });

    it(`Convolution dilated, no bias, LeakyReLU 0.2, ${fmt} weights`, async () => {
      const x = image(2, 7, 6);
      const wt = weights(4 * 2 * 9);
      const w = new NcnnWriter()
        .layer('Input', 'in', [], ['data'])
        .conv('c1', 'data', 'out', { cout: 4, cin: 2, k: 3, w: wt, dil: 2, act: '9=2 -23310=1,2.000000e-01', fmt });
      await check(w, x, leaky(conv(x, wt, undefined, 4, 3, { pad: 2, dil: 2 }), 0.2));
    });
  }

  it('Convolution 1×1 without padding and 5×5 with padding 2', async () => {
    const x = image(3, 6, 5);
    const w1 = weights(4 * 3);
    const w5 = weights(2 * 4 * 25);
    const b5 = weights(2);
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'])
      .conv('c1', 'data', 'a', { cout: 4, cin: 3, k: 1, w: w1 })
      .conv('c5', 'a', 'out', { cout: 2, cin: 4, k: 5, w: w5, b: b5 });
    await check(w, x, conv(conv(x, w1, undefined, 4, 1), w5, b5, 2, 5));
  });

  it('PReLU with per-channel and shared slopes', async () => {
    const x = map(image(3, 4, 5), (v) => v - 0.5);
    const s3 = [0.25, -0.5, 0.125];
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'], '2=3')
      .layer('PReLU', 'p1', ['data'], ['a'], '0=3')
      .raw32(s3)
      .layer('PReLU', 'p2', ['a'], ['out'], '0=1')
      .raw32([0.5]);
    await check(w, x, prelu(prelu(x, s3), [0.5]));
  });

  it('PReLU slopes above 1 between convolutions: those channels are negated through both convolutions, exactly', async () => {
    const x = map(image(3, 5, 6), (v) => v - 0.5);
    const w0 = weights(4 * 3 * 9);
    const b0 = weights(4);
    const w1 = weights(2 * 4 * 9);
    const s = [1.5, -0.25, 3, 1];
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'], '2=3')
      .conv('c0', 'data', 'a', { cout: 4, cin: 3, k: 3, w: w0, b: b0 })
      .layer('PReLU', 'p', ['a'], ['b'], '0=4')
      .raw32(s)
      .conv('c1', 'b', 'out', { cout: 2, cin: 4, k: 3, w: w1 });
    const g = await check(w, x, conv(prelu(conv(x, w0, b0, 4, 3), s), w1, undefined, 2, 3));
    const nodes = (decodeOnnx(ncnnToOnnx(g)).graph as { node: Array<{ op_type: string }> }).node;
    expect(nodes.filter((n) => n.op_type === 'PRelu')).toHaveLength(0);
  });

  it('PReLU slopes above 1 with no convolution to negate through stay a PRelu', async () => {
    const x = map(image(3, 4, 5), (v) => v - 0.5);
    const s = [0.25, 2, 0.5];
    const w = new NcnnWriter().layer('Input', 'in', [], ['data'], '2=3').layer('PReLU', 'p', ['data'], ['out'], '0=3').raw32(s);
    const g = await check(w, x, prelu(x, s));
    const nodes = (decodeOnnx(ncnnToOnnx(g)).graph as { node: Array<{ op_type: string }> }).node;
    expect(nodes.map((n) => n.op_type)).toEqual(['PRelu']);
  });

  it('PixelShuffle ×2 (ONNX DepthToSpace CRD)', async () => {
    const x = image(8, 3, 4);
    const w = new NcnnWriter().layer('Input', 'in', [], ['data'], '2=8').layer('PixelShuffle', 'ps', ['data'], ['out'], '0=2');
    const g = await check(w, x, pixelShuffle(x, 2));
    expect(analyzeGraph(g).scale).toBe(2);
  });

  it('Interp nearest ×4 (asymmetric, floor)', async () => {
    const x = image(3, 3, 5);
    const w = new NcnnWriter().layer('Input', 'in', [], ['data']).layer('Interp', 'up', ['data'], ['out'], '0=1 1=4.000000e+00 2=4.000000e+00');
    await check(w, x, nearest(x, 4));
  });

  for (const s of [2, 0.5, 0.75]) {
    it(`Interp bicubic ×${s} (A = -0.75, half-pixel, clamped edges)`, async () => {
      const x = image(3, 8, 12);
      const w = new NcnnWriter().layer('Input', 'in', [], ['data']).layer('Interp', 'rs', ['data'], ['out'], `0=3 1=${s} 2=${s}`);
      await check(w, x, bicubic(x, s));
    });
  }

  it('Interp bilinear ×2 (half-pixel)', async () => {
    const x = image(3, 5, 4);
    const w = new NcnnWriter().layer('Input', 'in', [], ['data']).layer('Interp', 'rs', ['data'], ['out'], '0=2 1=2.0 2=2.0');
    await check(w, x, bilinear(x, 2));
  });

  it('ReLU and Sigmoid layers; BinaryOp with a constant (add, sub, mul, div, rsub = b − a); a one-channel map broadcast over three', async () => {
    const x = image(3, 4, 5);
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'])
      .layer('Split', 'sp', ['data'], ['d0', 'd1', 'd2'])
      .layer('BinaryOp', 'add', ['d0'], ['a'], '0=0 1=1 2=-5.000000e-01')
      .layer('ReLU', 'leaky', ['a'], ['b'], '0=2.000000e-01')
      .layer('BinaryOp', 'mul', ['b'], ['c'], '0=2 1=1 2=8.000000e+00')
      .layer('BinaryOp', 'div', ['c'], ['e'], '0=3 1=1 2=4.000000e+00')
      .layer('BinaryOp', 'sub', ['e'], ['f'], '0=1 1=1 2=1.000000e+00')
      .layer('ReLU', 'relu', ['f'], ['g'])
      .layer('Crop', 'mask', ['d1'], ['m0'], '-23309=1,0 -23310=1,1 -23311=1,0')
      .layer('Sigmoid', 'sig', ['m0'], ['m1'])
      .layer('BinaryOp', 'rsub', ['m1'], ['m2'], '0=7 1=1 2=1.000000e+00')
      .layer('BinaryOp', 'blend', ['g', 'm2'], ['h'], '0=2')
      .layer('BinaryOp', 'plus', ['h', 'd2'], ['out'], '0=0');
    const g = map(map(map(map(leaky(map(x, (v) => v - 0.5), 0.2), (v) => v * 8), (v) => v / 4), (v) => v - 1), (v) => Math.max(0, v));
    const m = map(crop(x, 0, 0, 4, 5, 0, 1), (v) => 1 - 1 / (1 + Math.exp(-v)));
    // The one-channel mask multiplies each of the three channels.
    await check(w, x, t3(3, 4, 5, Float64Array.from(g.d, (v, i) => v * m.d[i % 20]! + x.d[i]!)));
  });

  it("rife.Warp: each pixel sampled at its position plus its flow, bilinear, clamped to the image (Practical-RIFE's warp); named inputs", async () => {
    const img = image(3, 6, 7);
    const flow = t3(2, 6, 7, Float64Array.from({ length: 2 * 42 }, () => (rand() * 2 - 1) * 4));
    const w = new NcnnWriter().layer('Input', 'in0', [], ['img']).layer('Input', 'in1', [], ['flow']).layer('rife.Warp', 'warp', ['img', 'flow'], ['out']);
    const g = await load(w);
    expect(g.inputs).toEqual(['img', 'flow']);
    const bytes = ncnnToOnnx(g, { inputs: [{ name: 'image', channels: 3 }, { name: 'flow', channels: 2 }] });
    const session = await ort.InferenceSession.create(bytes);
    const result = await session.run({
      image: new ort.Tensor('float32', Float32Array.from(img.d), [1, 3, 6, 7]),
      flow: new ort.Tensor('float32', Float32Array.from(flow.d), [1, 2, 6, 7]),
    });
    await session.release();
    const expected = t3(3, 6, 7);
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 7; x++) {
        const sx = Math.min(6, Math.max(0, x + at(flow, 0, y, x)));
        const sy = Math.min(5, Math.max(0, y + at(flow, 1, y, x)));
        const [x0, y0] = [Math.floor(sx), Math.floor(sy)];
        const [x1, y1] = [Math.min(6, x0 + 1), Math.min(5, y0 + 1)];
        const [fx, fy] = [sx - x0, sy - y0];
        for (let c = 0; c < 3; c++) {
          expected.d[(c * 6 + y) * 7 + x] =
            (1 - fy) * ((1 - fx) * at(img, c, y0, x0) + fx * at(img, c, y0, x1)) + fy * ((1 - fx) * at(img, c, y1, x0) + fx * at(img, c, y1, x1));
        }
      }
    }
    expectClose(t3(3, 6, 7, Float64Array.from(result.output!.data as Float32Array)), expected, 1e-5);
  });

  it('Split + BinaryOp add', async () => {
    const x = image(3, 4, 4);
    const wt = weights(3 * 3 * 9);
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'])
      .layer('Split', 'sp', ['data'], ['d0', 'd1'])
      .conv('c1', 'd0', 'a', { cout: 3, cin: 3, k: 3, w: wt })
      .layer('BinaryOp', 'add', ['a', 'd1'], ['out'], '0=0');
    await check(w, x, add([conv(x, wt, undefined, 3, 3), 1], [x, 1]));
  });

  it('Eltwise sum with per-input coefficients (2 and 3 inputs), and without coefficients', async () => {
    const x = image(2, 4, 3);
    const wa = weights(2 * 2 * 9);
    const wb = weights(2 * 2);
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'])
      .layer('Split', 'sp', ['data'], ['d0', 'd1', 'd2', 'd3'])
      .conv('ca', 'd0', 'a', { cout: 2, cin: 2, k: 3, w: wa })
      .conv('cb', 'd1', 'b', { cout: 2, cin: 2, k: 1, w: wb })
      .layer('Eltwise', 'e2', ['a', 'd2'], ['e'], '0=1 -23301=2,2.000000e-01,1.000000e+00')
      .layer('Split', 'sp2', ['e'], ['e0', 'e1'])
      .layer('Eltwise', 'e3', ['e0', 'b', 'd3'], ['f'], '0=1 -23301=3,5.000000e-01,1.0,-2.5')
      .layer('Eltwise', 'e4', ['f', 'e1'], ['out'], '0=1');
    const a = conv(x, wa, undefined, 2, 3);
    const b = conv(x, wb, undefined, 2, 1);
    const e = add([a, 0.2], [x, 1]);
    const f = add([e, 0.5], [b, 1], [x, -2.5]);
    const g = await check(w, x, add([f, 1], [e, 1]));
    // coefficient 1 produces no scaling node; the others are BatchNormalizations, which onnxruntime's blocked layout keeps
    const nodes = (decodeOnnx(ncnnToOnnx(g)).graph as { node: Array<{ op_type: string }> }).node;
    expect(nodes.filter((n) => n.op_type === 'BatchNormalization')).toHaveLength(3);
    expect(nodes.filter((n) => n.op_type === 'Mul')).toHaveLength(0);
  });

  it('Convolution 2×2 with stride 2, and 3×3 with stride 2 on an odd size', async () => {
    const x = image(2, 9, 7);
    const w2 = weights(3 * 2 * 4);
    const b2 = weights(3);
    const w3 = weights(2 * 3 * 9);
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'])
      .conv('down', 'data', 'a', { cout: 3, cin: 2, k: 2, w: w2, b: b2, pad: 0, stride: 2, act: '9=2 -23310=1,1.000000e-01' })
      .conv('down3', 'a', 'out', { cout: 2, cin: 3, k: 3, w: w3, stride: 2 });
    const a = leaky(conv(x, w2, b2, 3, 2, { pad: 0, stride: 2 }), 0.1);
    const g = await check(w, x, conv(a, w3, undefined, 2, 3, { stride: 2 }));
    expect(analyzeGraph(g).scale).toBe(0.25);
  });

  for (const [k, stride, pad, dil] of [[2, 2, 0, 1], [4, 2, 3, 1], [5, 3, 2, 1], [3, 2, 1, 2]] as const) {
    it(`Deconvolution ${k}×${k}, stride ${stride}, pad ${pad}, dilation ${dil} (weights output channel first, as ncnn stores them)`, async () => {
      const x = image(3, 4, 5);
      const wt = weights(2 * 3 * k * k);
      const b = weights(2);
      const params = `0=2 1=${k} 2=${dil} 3=${stride} 4=${pad} 5=1 6=${wt.length} 9=2 -23310=1,2.500000e-01`;
      const w = new NcnnWriter().layer('Input', 'in', [], ['data']).layer('Deconvolution', 'up', ['data'], ['out'], params).tagged(wt, 'fp16').raw32(b);
      const g = await check(w, x, leaky(deconv(x, wt, b, 2, k, { stride, pad, dil }), 0.25));
      expect(analyzeGraph(g).architecture).toBe('CUNet');
    });
  }

  it('squeeze-and-excitation: global average Pooling, InnerProduct with ReLU and Sigmoid, BinaryOp mul broadcast per channel', async () => {
    const x = image(4, 5, 6);
    const w1 = weights(2 * 4);
    const b1 = weights(2);
    const w2 = weights(4 * 2);
    const b2 = weights(4);
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'], '2=4')
      .layer('Split', 'sp', ['data'], ['d0', 'd1'])
      .layer('Pooling', 'gap', ['d0'], ['gap'], '0=1 4=1')
      .layer('InnerProduct', 'fc1', ['gap'], ['f1'], `0=2 1=1 2=8 9=1`)
      .tagged(w1, 'fp16')
      .raw32(b1)
      .layer('InnerProduct', 'fc2', ['f1'], ['f2'], `0=4 1=1 2=8 9=4`)
      .tagged(w2, 'fp32')
      .raw32(b2)
      .layer('BinaryOp', 'mul', ['d1', 'f2'], ['out'], '0=2');
    const excitation = sigmoid(fullyConnected(relu(fullyConnected(globalAverage(x), w1, b1, 2)), w2, b2, 4));
    const g = await check(w, x, perChannel(x, excitation, (a, s) => a * s));
    expect(analyzeGraph(g).pools).toMatchObject([{ name: 'gap', channels: 4, scale: 1 }]);
  });

  it('Scale by a per-channel blob (0=-233) and by stored factors with biases; BinaryOp sub and div', async () => {
    const x = image(3, 4, 4);
    const factors = [0.5, -2, 0.25];
    const biases = [0.125, 0, -1];
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'])
      .layer('Split', 'sp', ['data'], ['d0', 'd1', 'd2', 'd3'])
      .layer('Pooling', 'gap', ['d0'], ['gap'], '0=1 4=1')
      .layer('Split', 'sg', ['gap'], ['g0', 'g1'])
      .layer('Scale', 'sc', ['d1', 'g0'], ['a'], '0=-233')
      .layer('Scale', 'st', ['d2'], ['b'], '0=3 1=1')
      .raw32(factors)
      .raw32(biases)
      .layer('BinaryOp', 'sub', ['a', 'b'], ['c'], '0=1')
      .layer('BinaryOp', 'div', ['c', 'g1'], ['e'], '0=3')
      .layer('BinaryOp', 'add', ['e', 'd3'], ['out'], '0=0');
    const mean = globalAverage(x);
    const a = perChannel(x, mean, (v, m) => v * m);
    const b = map(x, (v, c) => v * factors[c]! + biases[c]!);
    await check(w, x, add([perChannel(add([a, 1], [b, -1]), mean, (v, m) => v / m), 1], [x, 1]), 1e-4);
  });

  it('Crop by starts/ends/axes: negative and zero ends, -233, a channel range', async () => {
    const x = image(5, 9, 10);
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'], '2=5')
      .layer('Crop', 'c1', ['data'], ['a'], '-23309=2,2,3 -23310=2,-3,0 -23311=2,-2,-1')
      // channels 1 to 3, all rows
      .layer('Crop', 'c2', ['a'], ['out'], '-23309=2,1,-233 -23310=2,4,-233 -23311=2,0,1');
    await check(w, x, crop(crop(x, 2, 3, 9 - 2 - 3, 10 - 3), 0, 0, 4, 7, 1, 3));
  });

  it('Crop to the size of a second blob, from offsets (the skip connections of waifu2x)', async () => {
    const x = image(2, 11, 12);
    const wt = weights(2 * 2 * 9);
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'])
      .layer('Split', 'sp', ['data'], ['d0', 'd1'])
      .conv('valid', 'd0', 'small', { cout: 2, cin: 2, k: 3, w: wt, pad: 0, dil: 2 })
      .layer('Split', 'ss', ['small'], ['s0', 's1'])
      .layer('Crop', 'skip', ['d1', 's0'], ['cropped'], '0=2 1=2')
      .layer('Eltwise', 'sum', ['cropped', 's1'], ['out'], '0=1');
    const small = conv(x, wt, undefined, 2, 3, { pad: 0, dil: 2 });
    const g = await check(w, x, add([crop(x, 2, 2, small.h, small.w), 1], [small, 1]));
    // Valid convolutions and the crop keep every pixel's place: output pixel j reads input pixels j to j + 4.
    expect(analyzeGraph(g).blobs.get('out')!.footprint).toEqual({ period: 1, lo: [0], hi: [4] });
  });

  it('Concat along channels (dense-block style)', async () => {
    const x = image(2, 5, 4);
    const w1 = weights(3 * 2 * 9);
    const w2 = weights(2 * 5 * 9);
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'])
      .layer('Split', 'sp', ['data'], ['d0', 'd1'])
      .conv('c1', 'd0', 'a', { cout: 3, cin: 2, k: 3, w: w1, act: '9=2 -23310=1,0.2' })
      .layer('Concat', 'cat', ['d1', 'a'], ['cat'], '0=0')
      .conv('c2', 'cat', 'out', { cout: 2, cin: 5, k: 3, w: w2 });
    const a = leaky(conv(x, w1, undefined, 3, 3), 0.2);
    const g = await check(w, x, conv(concat(x, a), w2, undefined, 2, 3));
    expect(analyzeGraph(g).architecture).toBe('RRDBNet');
  });
});

/**
 * A miniature Real-CUGAN: valid convolutions, a stride-2 convolution with a squeeze-and-excitation block at half
 * resolution, a transposed convolution back up, a cropped skip connection, and a ×2 PixelShuffle. It consumes 3
 * input pixels on every side (so it is padded by 3) and needs even sizes after the first convolution.
 */
function miniUnet() {
  const wa = weights(4 * 3 * 9);
  const ba = weights(4);
  const wd = weights(4 * 4 * 4);
  const w1 = weights(4 * 4);
  const wu = weights(4 * 4 * 4);
  const wo = weights(12 * 4 * 9);
  const bo = weights(12);
  const w = new NcnnWriter()
    .layer('Input', 'in', [], ['data'])
    .conv('a', 'data', 'a', { cout: 4, cin: 3, k: 3, w: wa, b: ba, pad: 0, act: '9=2 -23310=1,1.000000e-01' })
    .layer('Split', 'sa', ['a'], ['a0', 'a1'])
    .conv('down', 'a1', 'down', { cout: 4, cin: 4, k: 2, w: wd, pad: 0, stride: 2 })
    .layer('Split', 'sd', ['down'], ['d0', 'd1'])
    .layer('Pooling', 'gap', ['d0'], ['gap'], '0=1 4=1')
    .layer('InnerProduct', 'fc', ['gap'], ['s'], '0=4 1=0 2=16 9=4')
    .tagged(w1, 'fp16')
    .layer('BinaryOp', 'excite', ['d1', 's'], ['e'], '0=2')
    .layer('Deconvolution', 'up', ['e'], ['u'], `0=4 1=2 3=2 5=0 6=${wu.length}`)
    .tagged(wu, 'fp16')
    .layer('Crop', 'skip', ['a0'], ['c'], '-23309=2,0,0 -23310=2,0,0 -23311=2,-2,-1')
    .layer('BinaryOp', 'sum', ['c', 'u'], ['f'], '0=0')
    .conv('out', 'f', 'o', { cout: 12, cin: 4, k: 3, w: wo, b: bo, pad: 0, dil: 2 })
    .layer('PixelShuffle', 'ps', ['o'], ['output'], '0=2');
  /** The valid network on an already padded input, its pooling's mean replaced by `mean` when given. */
  const network = (x: T3, mean?: T3): { out: T3; pooled: T3 } => {
    const a = leaky(conv(x, wa, ba, 4, 3, { pad: 0 }), 0.1);
    const down = conv(a, wd, undefined, 4, 2, { pad: 0, stride: 2 });
    const s = sigmoid(fullyConnected(mean ?? globalAverage(down), w1, undefined, 4));
    const u = deconv(perChannel(down, s, (v, f) => v * f), wu, undefined, 4, 2, { stride: 2 });
    const f = add([crop(a, 0, 0, u.h, u.w), 1], [u, 1]);
    return { out: pixelShuffle(conv(f, wo, bo, 12, 3, { pad: 0, dil: 2 }), 2), pooled: down };
  };
  return { w, network };
}

/** Input pixel i of an axis of length n, padded: reflected without repeating the border (periodically), or clamped. */
function padIndex(i: number, n: number, mode: 'reflect' | 'replicate'): number {
  if (mode === 'replicate') return Math.min(n - 1, Math.max(0, i));
  const period = Math.max(1, 2 * (n - 1));
  const r = ((i % period) + period) % period;
  return r < n ? r : period - r;
}

function padImage(x: T3, pad: number, align: number, mode: 'reflect' | 'replicate'): T3 {
  const h = x.h + 2 * pad + ((align - (x.h % align)) % align);
  const w = x.w + 2 * pad + ((align - (x.w % align)) % align);
  const out = t3(x.c, h, w);
  for (let c = 0; c < x.c; c++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) out.d[(c * h + y) * w + xx] = at(x, c, padIndex(y - pad, x.h, mode), padIndex(xx - pad, x.w, mode));
  return out;
}

describe('a padded network of valid convolutions (Real-CUGAN, waifu2x CUNet)', () => {
  for (const [mode, addInput] of [['reflect', false], ['replicate', false], ['reflect', true]] as const) {
    it(`pads the input itself (${mode}, to even sizes), crops to exactly 2 × the input${addInput ? ', adds the input nearest-upsampled' : ''}; tiny inputs too`, async () => {
      const { w, network } = miniUnet();
      const g = await load(w);
      expect(analyzeGraph(g).align).toBe(2);
      const bytes = ncnnToOnnx(g, { pad: { pixels: 3, mode, align: 2 }, addInput, pools: true });
      for (const [h, wd] of [[7, 10], [6, 5], [1, 2]] as const) {
        const x = image(3, h, wd);
        const whole = network(padImage(x, 3, 2, mode)).out;
        const expected = add([crop(whole, 0, 0, 2 * h, 2 * wd), 1], ...(addInput ? [[nearest(x, 2), 1] as [T3, number]] : []));
        expectClose(await runOnnx(bytes, x), expected);
      }
    });
  }

  it("opens its pooling: a mean fed in replaces the pooling's own; the sum and pixel count over any region come out", async () => {
    const { w, network } = miniUnet();
    const bytes = ncnnToOnnx(await load(w), { pad: { pixels: 3, mode: 'reflect', align: 2 }, pools: true });
    const x = image(3, 9, 8);
    const padded = padImage(x, 3, 2, 'reflect');
    const mean = t3(4, 1, 1, Float64Array.from([0.5, -0.25, 1, 0]));
    expectClose(await runOnnx(bytes, x, [{ mean: mean.d }]), crop(network(padded, mean).out, 0, 0, 18, 16));
    const { pooled } = network(padded);
    const result = await runOnnxAll(bytes, x, [{ region: [1, 3, 2, 99] }]);
    const part = crop(pooled, 1, 2, 2, pooled.w - 2);
    expect(result['pool0.count']!.data[0]).toBe(2 * (pooled.w - 2));
    const sums = Array.from(result['pool0.sum']!.data as Float32Array);
    sums.forEach((sum, c) => expect(sum).toBeCloseTo(part.d.subarray(c * part.h * part.w, (c + 1) * part.h * part.w).reduce((a, b) => a + b, 0), 4));
  });
});

/** A miniature SRVGGNetCompact: conv+PReLU ×2, conv → 3·r², PixelShuffle r, + nearest-upsampled input. */
function miniSrvgg(fmt: 'fp16' | 'fp32' = 'fp16') {
  const r = 2;
  const w0 = weights(4 * 3 * 9);
  const b0 = weights(4);
  const s0 = weights(4);
  const w1 = weights(4 * 4 * 9);
  const b1 = weights(4);
  const s1 = weights(4);
  const w2 = weights(12 * 4 * 9);
  const b2 = weights(12);
  const w = new NcnnWriter()
    .layer('Input', 'input.1', [], ['data'])
    .layer('Split', 'splitncnn_input0', ['data'], ['in0', 'in1'])
    .conv('Conv_0', 'in1', '10', { cout: 4, cin: 3, k: 3, w: w0, b: b0, fmt })
    .layer('PReLU', 'PRelu_1', ['10'], ['11'], '0=4')
    .raw32(s0)
    .conv('Conv_2', '11', '12', { cout: 4, cin: 4, k: 3, w: w1, b: b1, fmt })
    .layer('PReLU', 'PRelu_3', ['12'], ['13'], '0=4')
    .raw32(s1)
    .conv('Conv_4', '13', '14', { cout: 12, cin: 4, k: 3, w: w2, b: b2, fmt })
    .layer('PixelShuffle', 'DepthToSpace_5', ['14'], ['15'], `0=${r}`)
    .layer('Interp', 'Resize_6', ['in0'], ['16'], `0=1 1=${r} 2=${r}`)
    .layer('BinaryOp', 'Add_7', ['15', '16'], ['output'], '0=0');
  const reference = (x: T3): T3 => {
    const y = conv(prelu(conv(prelu(conv(x, w0, b0, 4, 3), s0), w1, b1, 4, 3), s1), w2, b2, 12, 3);
    return add([pixelShuffle(y, r), 1], [nearest(x, r), 1]);
  };
  return { w, reference };
}

describe('whole graphs, analysis, ONNX structure', () => {
  it('a miniature SRVGGNetCompact matches the reference and is analysed correctly', async () => {
    const { w, reference } = miniSrvgg();
    const x = image(3, 6, 7);
    const g = await check(w, x, reference(x));
    const a = analyzeGraph(g);
    expect(a.architecture).toBe('SRVGGNetCompact');
    expect(a.scale).toBe(2);
    expect(a.inputChannels).toBe(3);
    expect(a.outputChannels).toBe(3);
    expect(a.parameters).toBe(4 * 27 + 4 + 4 + 4 * 36 + 4 + 4 + 12 * 36 + 12);
    expect(a.macsPerPixel).toBe(4 * 27 + 4 * 36 + 12 * 36);
    expect(a.receptiveFieldRadius).toBe(3);
  });

  it('receptive field and MACs track spatial scale (convs after upsampling count 1/s and s²)', async () => {
    const w1 = weights(2 * 3 * 9);
    const w2 = weights(2 * 2 * 9);
    const w3 = weights(3 * 2 * 25);
    const w = new NcnnWriter()
      .layer('Input', 'in', [], ['data'])
      .conv('c1', 'data', 'a', { cout: 2, cin: 3, k: 3, w: w1 }) // +1 at scale 1
      .layer('Interp', 'up', ['a'], ['b'], '0=1 1=2.0 2=2.0')
      .conv('c2', 'b', 'c', { cout: 2, cin: 2, k: 3, w: w2 }) // +1/2 at scale 2
      .layer('Interp', 'up2', ['c'], ['d'], '0=1 1=2.0 2=2.0')
      .conv('c3', 'd', 'e', { cout: 3, cin: 2, k: 5, w: w3 }) // +2/4 at scale 4
      .layer('Interp', 'down', ['e'], ['out'], '0=3 1=0.75 2=0.75'); // bicubic: +2/4 at scale 4
    const a = analyzeGraph(await load(w));
    expect(a.scale).toBe(3);
    expect(a.macsPerPixel).toBe(54 + 36 * 4 + 150 * 16);
    expect(a.receptiveFieldRadius).toBe(Math.ceil(1 + 0.5 + 0.5 + 0.5));
    expect(a.parameters).toBe(54 + 36 + 150);
  });

  it('writes opset 17 / IR 8, symbolic dims, float16 weights behind a Cast, float32 biases and slopes', async () => {
    const { w } = miniSrvgg();
    const g = await load(w);
    const model = decodeOnnx(ncnnToOnnx(g)) as {
      ir_version: number;
      opset_import: Array<{ version: number }>;
      graph: {
        node: Array<{ op_type: string; input: string[]; output: string[] }>;
        initializer: Array<{ name: string; data_type: number; dims: number[] }>;
        input: Array<{ name: string; type: { tensor_type: { elem_type: number; shape: { dim: Array<Record<string, unknown>> } } } }>;
        output: Array<{ name: string; type: { tensor_type: { elem_type: number; shape: { dim: Array<Record<string, unknown>> } } } }>;
      };
    };
    expect(model.ir_version).toBe(8);
    expect(model.opset_import[0]!.version).toBe(17);
    const io = (v: (typeof model.graph.input)[0]) => [v.name, v.type.tensor_type.elem_type, v.type.tensor_type.shape.dim.map((d) => d.dim_value ?? d.dim_param)];
    expect(io(model.graph.input[0]!)).toEqual(['input', 1, [1, 3, 'height', 'width']]);
    expect(io(model.graph.output[0]!)).toEqual(['output', 1, [1, 3, 'out_height', 'out_width']]);
    const inits = Object.fromEntries(model.graph.initializer.map((t) => [t.name, t]));
    expect(inits['Conv_0.weight_fp16']).toMatchObject({ data_type: 10, dims: [4, 3, 3, 3] });
    expect(inits['Conv_0.bias']).toMatchObject({ data_type: 1, dims: [4] });
    expect(inits['PRelu_1.coeff']).toMatchObject({ data_type: 1, dims: [4] });
    const casts = model.graph.node.filter((n) => n.op_type === 'Cast');
    expect(casts.map((n) => n.input[0])).toEqual(['Conv_0.weight_fp16', 'Conv_2.weight_fp16', 'Conv_4.weight_fp16']);
    // PReLU as x + Relu((s - 1)·x), the scaling a BatchNormalization: onnxruntime's blocked layout runs through all three
    const prelu = ['BatchNormalization', 'Relu', 'Add'];
    expect(model.graph.node.map((n) => n.op_type)).toEqual([
      'Cast', 'Conv', ...prelu, 'Cast', 'Conv', ...prelu, 'Cast', 'Conv', 'DepthToSpace', 'Resize', 'Add',
    ]);
  });

  it('raw float32 sources stay float32 by default; weightType float16 rounds them, float32 widens fp16', async () => {
    const { w, reference } = miniSrvgg('fp32');
    const g = await load(w);
    const types = (bytes: Uint8Array) =>
      (decodeOnnx(bytes).graph as { initializer: Array<{ name: string; data_type: number }> }).initializer
        .filter((t) => t.name.includes('weight'))
        .map((t) => t.data_type);
    expect(types(ncnnToOnnx(g))).toEqual([1, 1, 1]);
    expect(types(ncnnToOnnx(g, { weightType: 'float16' }))).toEqual([10, 10, 10]);
    const x = image(3, 4, 4);
    // the test weights are exact in float16, so forcing float16 changes nothing
    const got = await runOnnx(ncnnToOnnx(g, { weightType: 'float16' }), x);
    const ref = reference(x);
    for (let i = 0; i < got.d.length; i++) expect(Math.abs(got.d[i]! - ref.d[i]!)).toBeLessThan(2e-5);
    const g16 = await load(miniSrvgg('fp16').w);
    expect(types(ncnnToOnnx(g16, { weightType: 'float32' }))).toEqual([1, 1, 1]);
  });

  it('is deterministic: the same ncnn files give byte-identical ONNX', async () => {
    const { w } = miniSrvgg();
    const a = ncnnToOnnx(await load(w));
    const b = ncnnToOnnx(await load(w));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});

describe('int8 (src/convert/int8.ts)', () => {
  it('Tail keeps exactly the k-th largest value, duplicates included', () => {
    const values = Array.from({ length: 20_000 }, () => Math.round(rand() * 500) / 7);
    const sorted = [...values].sort((a, b) => b - a);
    for (const k of [1, 7, 300]) {
      const tail = new Tail(k);
      for (const v of values) tail.add(v);
      expect(tail.value()).toBe(sorted[k - 1]);
    }
  });

  it('srvggChain reads an SRVGGNetCompact as convolutions and activations, and refuses other graphs', async () => {
    const chain = srvggChain('mini', await load(miniSrvgg().w));
    expect(chain.convs.map((l) => l.name)).toEqual(['Conv_0', 'Conv_2', 'Conv_4']);
    expect(chain.coeffs).toHaveLength(2);
    expect(chain.factor).toBe(2);
    const rrdb = new NcnnWriter()
      .layer('Input', 'in', [], ['data'])
      .layer('Split', 'sp', ['data'], ['d0', 'd1'])
      .conv('c1', 'd1', 'a', { cout: 3, cin: 3, k: 3, w: weights(81), b: weights(3) })
      .layer('Concat', 'cat', ['d0', 'a'], ['out'], '0=0');
    await expect(async () => srvggChain('rrdb', await load(rrdb))).rejects.toThrow(/not an SRVGGNetCompact chain: unexpected layer cat \(Concat\)/);
  });

  it('the float64 reference matches the plain one, convolution outputs included (channels last)', async () => {
    const { w, reference } = miniSrvgg();
    const chain = srvggChain('mini', await load(w));
    const x = image(3, 6, 7);
    const session = await ort.InferenceSession.create(referenceOnnx(chain));
    const out = await session.run({ input: new ort.Tensor('float64', x.d, [1, 3, 6, 7]) });
    await session.release();
    const want = reference(x);
    const got = out.output!.data as Float64Array;
    for (let i = 0; i < want.d.length; i++) expect(Math.abs(got[i]! - want.d[i]!)).toBeLessThan(1e-12);
    const y0 = conv(x, [...chain.convs[0]!.weight.float32], [...chain.convs[0]!.bias!], 4, 3);
    const got0 = out.y0!.data as Float64Array;
    for (let c = 0; c < 4; c++) for (let p = 0; p < 42; p++) expect(Math.abs(got0[p * 4 + c]! - y0.d[c * 42 + p]!)).toBeLessThan(1e-12);
  });

  it('the int8 form, calibrated on the reference, stays close to it on another image', async () => {
    const { w, reference } = miniSrvgg();
    const chain = srvggChain('mini', await load(w));
    const session = await ort.InferenceSession.create(referenceOnnx(chain));
    const stats = newCalibration(chain, 4 * 64, 99.995);
    for (let i = 0; i < 4; i++) {
      const out = await session.run({ input: new ort.Tensor('float64', image(3, 8, 8).d, [1, 3, 8, 8]) });
      calibrate(chain, stats, chain.convs.map((_, k) => out[`y${k}`]!.data as Float64Array));
    }
    await session.release();
    // Inputs on the 8-bit grid, as the tool's are.
    const x = map(image(3, 8, 8), (v) => Math.round(v * 255) / 255);
    const got = await runOnnx(int8Onnx(chain, stats, 'mini'), x);
    const want = reference(x);
    let squared = 0;
    for (let i = 0; i < want.d.length; i++) squared += (got.d[i]! - want.d[i]!) ** 2;
    let peak = 0;
    for (const v of want.d) peak = Math.max(peak, Math.abs(v));
    // About 40 dB below the peak: what 8-bit activations allow four channels wide (a wrong graph lands near 10 dB).
    expect(Math.sqrt(squared / want.d.length) / peak).toBeLessThan(0.03);
  });
});

describe('errors', () => {
  const base = () =>
    new NcnnWriter()
      .layer('Input', 'in', [], ['data'])
      .conv('Conv_0', 'data', 'a', { cout: 2, cin: 3, k: 3, w: weights(54), b: weights(2) })
      .layer('PReLU', 'PRelu_1', ['a'], ['out'], '0=2')
      .raw32([0.1, 0.2]);

  it('truncated .bin: names the file and the byte offsets', async () => {
    const w = base();
    const bin = w.bin(); // 4 + 108 (weights) + 8 (bias) + 8 (slopes) = 128 bytes
    expect(bin.length).toBe(128);
    const f = await write(w.param(), bin.subarray(0, 124));
    await expect(loadNcnn(f.param, f.bin)).rejects.toThrow(
      `${f.bin}: truncated: layer PRelu_1 slope needs bytes 120..128 but the file ends at byte 124`,
    );
    const f2 = await write(w.param(), bin.subarray(0, 50));
    await expect(loadNcnn(f2.param, f2.bin)).rejects.toThrow(/truncated: layer Conv_0 weight \(float16 × 54\) needs bytes 4\.\.112 but the file ends at byte 50/);
  });

  it('oversized .bin: names the file, where the weights end and the file size', async () => {
    const w = base();
    const bin = new Uint8Array([...w.bin(), 0, 0, 0, 0, 0, 0]);
    const f = await write(w.param(), bin);
    await expect(loadNcnn(f.param, f.bin)).rejects.toThrow(`${f.bin}: 6 bytes left over: weights end at byte 128 but the file has 134 bytes`);
  });

  it('unknown weight tag: names the file and offset', async () => {
    const w = base();
    const bin = w.bin();
    new DataView(bin.buffer).setUint32(0, 0x000d4b38, true); // int8 tag
    const f = await write(w.param(), bin);
    await expect(loadNcnn(f.param, f.bin)).rejects.toThrow(`${f.bin}: layer Conv_0 weight: unsupported weight storage tag 0x000d4b38 at byte 0`);
  });

  it('unknown op: names the layer, its type and the file', async () => {
    const w = base().layer('Softmax', 'Softmax_9', ['out'], ['out2']);
    const f = await write(w.param(), w.bin());
    const err = await loadNcnn(f.param, f.bin).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain(f.param);
    expect(err?.message).toContain('"Softmax_9"');
    expect(err?.message).toContain('"Softmax"');
  });

  it.each([
    ['Pooling', '0=0 1=2 2=2', 'unsupported pooling other than global average (type 0, global 0)'],
    ['Crop', '0=1 1=1 3=4 4=4', 'unsupported crop form (only starts/ends/axes, or the size of a second input blob)'],
    ['Deconvolution', '0=2 1=2 3=2 6=16 18=1', 'unsupported output padding (params 18/19)'],
    ['InnerProduct', '0=2 2=8 9=5', 'unsupported fused activation type 5 (param 9)'],
  ])('%s %s: names the layer, its type and what is unsupported', async (type, params, what) => {
    const w = base().layer(type, 'Odd_7', ['out'], ['out2'], params);
    const f = await write(w.param(), w.bin());
    await expect(loadNcnn(f.param, f.bin)).rejects.toThrow(`${f.param}:6: layer Odd_7 (${type}): ${what}`);
  });

  it('an InnerProduct on a feature map (not a pooled vector) is refused by name', async () => {
    const w = base().layer('InnerProduct', 'Fc_3', ['out'], ['out2'], '0=2 2=4').tagged([0, 0, 0, 0], 'fp16');
    const f = await write(w.param(), w.bin());
    const g = await loadNcnn(f.param, f.bin);
    expect(() => ncnnToOnnx(g)).toThrow('layer Fc_3 (InnerProduct): only per-channel vectors (after a global pooling) are supported as input');
  });

  it('bad magic and wrong layer count', async () => {
    const w = base();
    const f = await write(w.param().replace('7767517', '1234'), w.bin());
    await expect(loadNcnn(f.param, f.bin)).rejects.toThrow(`${f.param}: not an ncnn param file`);
    const f2 = await write(w.param().replace('\n3 3\n', '\n4 3\n'), w.bin());
    await expect(loadNcnn(f2.param, f2.bin)).rejects.toThrow('header announces 4 layers, found 3');
  });
});
