/**
 * The int8 path: onnxruntime's integer arithmetic on this CPU, the shipped int8 models, and `--precision` through the
 * tool (which precision runs and says so, exact tiling, alpha, 16-bit in fp32).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { NetworkModel } from '../src/models/catalog.js';
import { attrInts, decodeOnnx, DT, encodeModel, tensor, valueInfo } from '../src/convert/onnx.js';
import { upscale } from '../src/index.js';
import { CPU_FEATURES_VARIABLE, detectedCpuFlags, flagsHaveVnni, hasVnni } from '../src/inference/cpu.js';
import { cpuPrecision } from '../src/inference/providers.js';
import { messages } from '../src/core/messages.js';
import { fixtures, pixels, psnr, scratch } from './helpers.js';

const models = join(fixtures, '..', 'models');
const manifest = JSON.parse(readFileSync(join(models, 'manifest.json'), 'utf8')) as {
  models: { name: string; int8?: { file: string; worstPsnr: number; worstImage: string; medianPsnr: number } }[];
};
const golden = (name: string) => join(fixtures, 'golden', name);
const out = scratch();

/** One 3×3 QLinearConv over a 3×3 uint8 input of 255s, all weights `w`: its exact sum, and what onnxruntime gives. */
async function convOf255(w: number): Promise<{ exact: number; got: number }> {
  const channels = 64;
  const scale = 65536;
  const inits = [
    tensor('x_scale', [], DT.FLOAT, [1]),
    tensor('x_zero_point', [], DT.UINT8, [0]),
    tensor('w', [1, channels, 3, 3], DT.INT8, new Array(channels * 9).fill(w)),
    tensor('w_scale', [1], DT.FLOAT, [1]),
    tensor('w_zero_point', [1], DT.INT8, [0]),
    tensor('y_scale', [], DT.FLOAT, [scale]),
    tensor('y_zero_point', [], DT.UINT8, [0]),
  ];
  const input = ['input', 'x_scale', 'x_zero_point', 'w', 'w_scale', 'w_zero_point', 'y_scale', 'y_zero_point'];
  const model = encodeModel({
    graphName: 'pairs',
    nodes: [{ op_type: 'QLinearConv', input, output: ['output'], name: 'conv', attribute: [attrInts('kernel_shape', [3, 3])] }],
    initializers: inits,
    inputs: [valueInfo('input', DT.UINT8, [1, channels, 3, 3])],
    outputs: [valueInfo('output', DT.UINT8, [1, 1, 1, 1])],
  });
  const session = await ort.InferenceSession.create(model);
  const result = await session.run({ input: new ort.Tensor('uint8', new Uint8Array(channels * 9).fill(255), [1, channels, 3, 3]) });
  await session.release();
  return { exact: Math.round((channels * 9 * 255 * w) / scale), got: (result.output!.data as Uint8Array)[0]! };
}

describe("onnxruntime's uint8 × int8 convolution on this CPU", () => {
  it('is exact when same-sign neighbouring weights sum to at most 128 in magnitude (the bound the int8 models keep)', async () => {
    const { exact, got } = await convOf255(64);
    expect(got).toBe(exact);
  });

  it('saturates beyond it unless the CPU has VNNI: why the bound is kept', async () => {
    const { exact, got } = await convOf255(100);
    // onnxruntime's kernels see the CPU itself, whatever UPSCALE_CPU_FEATURES says.
    expect(got === exact).toBe(flagsHaveVnni(detectedCpuFlags()));
  });
});

describe('the shipped int8 models', () => {
  const int8 = manifest.models.filter((m) => m.int8);

  it('each keeps at least 38 dB against fp32 on every image of the held-out set, and the manifest says how close', () => {
    expect(int8.length).toBeGreaterThan(0);
    for (const m of int8) {
      expect(m.int8!.worstPsnr).toBeGreaterThanOrEqual(38);
      expect(m.int8!.medianPsnr).toBeGreaterThanOrEqual(m.int8!.worstPsnr);
      expect(m.int8!.worstImage).toMatch(/\.png$/);
    }
  });

  it.each(int8.map((m) => [m.name, m.int8!.file] as const))('%s: same-sign neighbouring weights stay within the bound', (_, file) => {
    const model = decodeOnnx(readFileSync(join(models, file))) as {
      graph: { initializer: { name: string; dims: number[]; data_type: number; raw_data: number[] }[] };
    };
    const weights = model.graph.initializer.filter((t) => t.data_type === DT.INT8 && t.dims.length === 4 && t.dims[2] === 3);
    expect(weights.length).toBeGreaterThan(10);
    let worst = 0;
    for (const t of weights) {
      const [rows, channels] = t.dims as [number, number];
      const w = Int8Array.from(t.raw_data, (b) => (b << 24) >> 24);
      for (let o = 0; o < rows; o++) {
        // onnxruntime's order: (tap, channel), channels innermost; pairs 2j, 2j + 1.
        const row = Array.from({ length: 9 * channels }, (_, k) => w[(o * channels + (k % channels)) * 9 + Math.floor(k / channels)]!);
        for (let k = 0; k + 1 < row.length; k += 2) if (row[k]! * row[k + 1]! > 0) worst = Math.max(worst, Math.abs(row[k]!) + Math.abs(row[k + 1]!));
      }
    }
    expect(worst).toBeLessThanOrEqual(128);
    expect(worst).toBeGreaterThan(120);
  });
});

describe('cpuPrecision: what --precision picks on the CPU', () => {
  const withInt8: NetworkModel = { kind: 'network', name: 'm', path: 'm.onnx', receptiveFieldRadius: 1, int8: { path: 'm.int8.onnx', worstPsnr: 38.5, medianPsnr: 41 } };
  const without: NetworkModel = { kind: 'network', name: 'm', path: 'm.onnx', receptiveFieldRadius: 1 };
  it.each([
    ['fp32 is fp32, with VNNI too', withInt8, 'fp32', true, { precision: 'fp32' }],
    ['auto without an int8 form is fp32, silently', without, 'auto', true, { precision: 'fp32' }],
    ['auto without VNNI is fp32, saying why', withInt8, 'auto', false, { precision: 'fp32', why: messages.int8NeedsVnni('precision') }],
    ['auto with VNNI is int8, saying how far from fp32', withInt8, 'auto', true, { precision: 'int8', why: messages.int8Chosen(38.5, 41, 'precision') }],
    ['int8 with VNNI is int8', withInt8, 'int8', true, { precision: 'int8' }],
    ['int8 without VNNI is int8, saying VNNI is missing', withInt8, 'int8', false, { precision: 'int8', why: messages.int8NoVnni() }],
  ] as const)('%s', (_, model, requested, vnni, expected) => {
    expect(cpuPrecision(model, requested, vnni, 'precision')).toEqual(expected);
  });
});

describe('UPSCALE_CPU_FEATURES: the one place CPU features are read', () => {
  it.each([
    [{ [CPU_FEATURES_VARIABLE]: 'vnni' }, true],
    [{ [CPU_FEATURES_VARIABLE]: ' none ' }, false],
    [{}, flagsHaveVnni(detectedCpuFlags())],
    [{ [CPU_FEATURES_VARIABLE]: '' }, flagsHaveVnni(detectedCpuFlags())],
  ])('%j has VNNI: %s', (env, vnni) => {
    expect(hasVnni(env)).toBe(vnni);
  });

  it('rejects anything else, naming the variable and the choices', () => {
    expect(() => hasVnni({ [CPU_FEATURES_VARIABLE]: 'avx512' })).toThrow('Expected one of vnni, none for UPSCALE_CPU_FEATURES but received "avx512"');
  });
});

describe('the same picture on every CPU', () => {
  const photo = golden('chelsea-96.png');
  const run = async (name: string, options: Parameters<typeof upscale>[1]) => {
    const notices: string[] = [];
    const target = join(out, `${name}.png`);
    const report = await upscale(photo, { device: 'cpu', tile: 0, output: target, onNotice: (l) => notices.push(l), ...options });
    return { report, notices, image: await pixels(target) };
  };

  it('by default runs fp32 with VNNI and without, identical to --precision fp32', async () => {
    const vnni = await run('default-vnni', { env: { [CPU_FEATURES_VARIABLE]: 'vnni' } });
    const none = await run('default-none', { env: { [CPU_FEATURES_VARIABLE]: 'none' } });
    const fp32 = await run('fp32', { precision: 'fp32' });
    for (const r of [vnni, none]) {
      expect(r.report.summary.precision).toBe('fp32');
      expect(r.notices).toEqual([]);
      expect(r.image.data.equals(fp32.image.data)).toBe(true);
    }
    expect(psnr(fp32.image, await pixels(golden('chelsea-96.realesr-general-x4v3.png')))).toBeGreaterThanOrEqual(50);
  });

  it('--precision auto: int8 where the CPU has VNNI, fp32 where not, each saying why', async () => {
    const vnni = await run('auto-vnni', { precision: 'auto', env: { [CPU_FEATURES_VARIABLE]: 'vnni' } });
    const none = await run('auto-none', { precision: 'auto', env: { [CPU_FEATURES_VARIABLE]: 'none' } });
    const int8 = await run('int8', { precision: 'int8' });
    const fp32 = await run('fp32', { precision: 'fp32' });
    const entry = manifest.models.find((m) => m.name === 'realesr-general-x4v3')!.int8!;
    expect(vnni.report.summary.precision).toBe('int8');
    expect(vnni.notices).toEqual([messages.deviceChosen('cpu', 'int8', messages.int8Chosen(entry.worstPsnr, entry.medianPsnr, 'precision'))]);
    expect(vnni.image.data.equals(int8.image.data)).toBe(true);
    expect(none.report.summary.precision).toBe('fp32');
    expect(none.notices).toEqual([messages.deviceChosen('cpu', 'fp32', messages.int8NeedsVnni('precision'))]);
    expect(none.image.data.equals(fp32.image.data)).toBe(true);
  });
});

describe('--precision int8 through the tool', () => {
  it('runs int8, says so on stderr and in the report, and is close to fp32 on a photo it was not calibrated on', async () => {
    const notices: string[] = [];
    const target = join(out, 'chelsea-int8.png');
    const env = { [CPU_FEATURES_VARIABLE]: 'none' };
    const report = await upscale(golden('chelsea-96.png'), { precision: 'int8', device: 'cpu', tile: 0, output: target, env, onNotice: (l) => notices.push(l) });
    expect(report.summary).toMatchObject({ device: 'cpu', precision: 'int8' });
    expect(report.files[0]).toMatchObject({ status: 'ok', precision: 'int8' });
    expect(notices).toEqual([messages.deviceChosen('cpu', 'int8', messages.int8NoVnni())]);
    const withVnni: string[] = [];
    await upscale(golden('chelsea-96.png'), { precision: 'int8', device: 'cpu', tile: 0, output: join(out, 'chelsea-int8-vnni.png'), env: { [CPU_FEATURES_VARIABLE]: 'vnni' }, onNotice: (l) => withVnni.push(l) });
    expect(withVnni).toEqual([]);
    expect((await pixels(join(out, 'chelsea-int8-vnni.png'))).data.equals((await pixels(target)).data)).toBe(true);
    const fidelity = psnr(await pixels(target), await pixels(golden('chelsea-96.realesr-general-x4v3.png')));
    expect(fidelity).toBeGreaterThanOrEqual(38);
    expect(fidelity).toBeLessThan(50); // it is int8: not the fp32 output
  });

  it.each([
    ['realesr-animevideov3', 2],
    ['realesr-general-x4v3', 4],
  ] as const)('tiles exactly: 16 px tiles give the whole-image output of the same int8 model, alpha included (%s)', async (model, scale) => {
    const cat = join(fixtures, 'images', 'cat-alpha.png');
    const run = (tile: number) => upscale(cat, { model, scale, precision: 'int8', device: 'cpu', tile, output: join(out, `alpha-${model}-${tile}.png`) });
    await run(0);
    await run(16);
    const [whole, tiled] = [await pixels(join(out, `alpha-${model}-0.png`)), await pixels(join(out, `alpha-${model}-16.png`))];
    expect(whole.channels).toBe(4);
    expect(tiled.data.equals(whole.data)).toBe(true);
  });

  it('runs 16-bit images in fp32, saying so once, and reports which precision ran per file', async () => {
    const notices: string[] = [];
    const image = join(fixtures, 'images', 'coffee-16bit.png');
    const report = await upscale(image, { precision: 'int8', device: 'cpu', output: join(out, 'wide-int8.png'), onNotice: (l) => notices.push(l) });
    await upscale(image, { precision: 'fp32', device: 'cpu', output: join(out, 'wide-fp32.png') });
    expect(report.summary.precision).toBe('int8');
    expect(report.files[0]!.precision).toBe('fp32');
    expect(notices.filter((l) => l === messages.sixteenBitInFp32())).toHaveLength(1);
    const [a, b] = [await pixels(join(out, 'wide-int8.png'), true), await pixels(join(out, 'wide-fp32.png'), true)];
    expect(a.data.equals(b.data)).toBe(true);
  });
});
