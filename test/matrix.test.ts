/**
 * Every sample layout the tool reads × every path a pixel takes, checked on content against an independent
 * reference of the same operation: reference resamplers written here, the network's own native-scale output,
 * and sharp run on the files themselves. A byte-order, depth or channel mix-up cannot pass these thresholds
 * (they give 5-15 dB; the references agree to within rounding, 45 dB and up).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { upscale, type UpscaleOptions } from '../src/index.js';
import { scratch } from './helpers.js';

/** Samples as plain numbers in the file's own depth; `channels` as stored (palette: RGBA). */
interface Samples {
  data: Float64Array;
  width: number;
  height: number;
  channels: number;
  depth: 8 | 16;
}

interface Layout {
  name: string;
  channels: 1 | 2 | 3 | 4;
  depth: 8 | 16;
  container: 'png' | 'tiff';
  palette?: boolean;
}

const WIDTH = 10;
const HEIGHT = 8;
const LAYOUTS: Layout[] = [];
for (const container of ['png', 'tiff'] as const) {
  for (const depth of [8, 16] as const) {
    for (const channels of [1, 2, 3, 4] as const) LAYOUTS.push({ name: `${['grey', 'grey-alpha', 'rgb', 'rgba'][channels - 1]}-${depth}-${container}`, channels, depth, container });
  }
}
LAYOUTS.push({ name: 'palette-trns-8-png', channels: 4, depth: 8, container: 'png', palette: true });

const peakOf = (depth: 8 | 16) => (depth === 16 ? 65535 : 255);
const extension = (layout: Layout) => (layout.container === 'tiff' ? 'tif' : 'png');

/** Colour: smooth waves that differ per channel; alpha: a diagonal ramp, never opaque, unlike any colour. */
function generate(layout: Layout): Samples {
  const { channels, depth } = layout;
  const peak = peakOf(depth);
  const data = new Float64Array(WIDTH * HEIGHT * channels);
  const colours = channels % 2 === 0 ? channels - 1 : channels;
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const at = (y * WIDTH + x) * channels;
      for (let c = 0; c < colours; c++) data[at + c] = Math.round(peak * (0.5 + 0.4 * Math.sin(x * 0.9 + c * 1.7) * Math.cos(y * 0.7 - c)));
      if (colours < channels) data[at + colours] = Math.round(peak * (0.2 + (0.7 * (x + y)) / (WIDTH + HEIGHT)));
    }
  }
  return { data, width: WIDTH, height: HEIGHT, channels, depth };
}

function typed(samples: Samples): Uint8Array | Uint16Array {
  return samples.depth === 16 ? Uint16Array.from(samples.data) : Uint8Array.from(samples.data);
}

function greyOf(channels: number) {
  return channels <= 2;
}

/** Writes samples as a file of the layout (with a density, so the metadata path is taken). */
async function write(samples: Samples, layout: Layout, path: string): Promise<void> {
  const space = greyOf(samples.channels) ? (samples.depth === 16 ? 'grey16' : 'b-w') : samples.depth === 16 ? 'rgb16' : 'srgb';
  const pipeline = sharp(typed(samples), { raw: { width: samples.width, height: samples.height, channels: samples.channels as 1 | 2 | 3 | 4 } })
    .toColourspace(space)
    .withDensity(96);
  if (layout.palette) await pipeline.png({ palette: true, colours: 16, dither: 0 }).toFile(path);
  else if (layout.container === 'png') await pipeline.png().toFile(path);
  else await pipeline.tiff({ compression: 'lzw' }).toFile(path);
}

/**
 * A file's samples exactly as stored (so no sharp raw path can drop an alpha channel or narrow a sample);
 * `edit` runs on the file first, in sharp.
 */
async function read(path: string, edit: (pipeline: Sharp) => Sharp = (p) => p): Promise<Samples> {
  const meta = await sharp(path).metadata();
  const grey = greyOf(meta.channels!) && !meta.isPalette;
  const depth = meta.depth === 'ushort' ? 16 : 8;
  // 8-bit colour is read as it is (sRGB to RGB16 is not an exact × 257); 8-bit grey through grey16 (which is).
  const exact8 = depth === 8 && !grey;
  const { data, info } = await edit(sharp(path).keepIccProfile())
    .toColourspace(exact8 ? 'srgb' : grey ? 'grey16' : 'rgb16')
    .raw({ depth: exact8 ? 'uchar' : 'ushort' })
    .toBuffer({ resolveWithObject: true });
  if (exact8) return { data: Float64Array.from(data), width: info.width, height: info.height, channels: info.channels, depth };
  const wide = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  const values = Float64Array.from(wide, (v) => (depth === 16 ? v : Math.round(v / 257)));
  return { data: values, width: info.width, height: info.height, channels: info.channels, depth };
}

/** PSNR in the samples' own depth. */
function psnr(actual: Samples, expected: Samples): number {
  expect([actual.width, actual.height, actual.channels, actual.depth]).toEqual([expected.width, expected.height, expected.channels, expected.depth]);
  let sum = 0;
  for (let i = 0; i < actual.data.length; i++) sum += (actual.data[i]! - expected.data[i]!) ** 2;
  const mse = sum / actual.data.length;
  const peak = peakOf(actual.depth);
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}

type Method = 'nearest' | 'bilinear' | 'bicubic';

/** Centre-aligned resampling with clamped edges (PIL and Matlab's definition), in float64; Keys a = -0.5. */
function resize(source: Samples, width: number, height: number, method: Method): Samples {
  const weights = (inLength: number, outLength: number) =>
    Array.from({ length: outLength }, (_, o) => {
      const ratio = inLength / outLength;
      const clamp = (i: number) => Math.min(inLength - 1, Math.max(0, i));
      if (method === 'nearest') return [[clamp(Math.floor((o + 0.5) * ratio)), 1]] as [number, number][];
      const centre = (o + 0.5) * ratio - 0.5;
      const base = Math.floor(centre);
      const kernel = (d: number) => {
        const t = Math.abs(d);
        if (method === 'bilinear') return Math.max(0, 1 - t);
        return t <= 1 ? 1.5 * t ** 3 - 2.5 * t ** 2 + 1 : t < 2 ? -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2 : 0;
      };
      const taps = method === 'bilinear' ? [0, 1] : [-1, 0, 1, 2];
      const list = taps.map((k) => [clamp(base + k), kernel(centre - (base + k))] as [number, number]);
      const total = list.reduce((s, [, w]) => s + w, 0);
      return list.map(([i, w]) => [i, w / total] as [number, number]);
    });
  const across = weights(source.width, width);
  const down = weights(source.height, height);
  const { channels } = source;
  const out = new Float64Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (const [sy, wy] of down[y]!) for (const [sx, wx] of across[x]!) sum += wy * wx * source.data[(sy * source.width + sx) * channels + c]!;
        out[(y * width + x) * channels + c] = Math.min(peakOf(source.depth), Math.max(0, Math.round(sum)));
      }
    }
  }
  return { ...source, data: out, width, height };
}

/** Per-pixel remapping: `from(x, y)` gives the source pixel of output pixel (x, y). */
function remap(source: Samples, width: number, height: number, from: (x: number, y: number) => [number, number]): Samples {
  const out = new Float64Array(width * height * source.channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sx, sy] = from(x, y);
      for (let c = 0; c < source.channels; c++) out[(y * width + x) * source.channels + c] = source.data[(sy * source.width + sx) * source.channels + c]!;
    }
  }
  return { ...source, data: out, width, height };
}

/** Applies a curve to the colour channels, alpha untouched. */
function curve(source: Samples, f: (v: number, peak: number) => number): Samples {
  const peak = peakOf(source.depth);
  const colours = source.channels % 2 === 0 ? source.channels - 1 : source.channels;
  const data = source.data.map((v, i) => (i % source.channels < colours ? Math.min(peak, Math.max(0, Math.round(f(v, peak)))) : v));
  return { ...source, data };
}

function luma(source: Samples): Samples {
  if (source.channels <= 2) return source;
  const alpha = source.channels === 4;
  const channels = alpha ? 2 : 1;
  const pixels = source.width * source.height;
  const data = new Float64Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const [r, g, b] = [0, 1, 2].map((c) => source.data[p * source.channels + c]!);
    data[p * channels] = Math.round(0.2126 * r! + 0.7152 * g! + 0.0722 * b!);
    if (alpha) data[p * channels + 1] = source.data[p * 4 + 3]!;
  }
  return { ...source, data, channels };
}

/** One plane (colour or alpha) of the samples. */
function plane(source: Samples, which: 'colour' | 'alpha'): Samples {
  const alpha = source.channels % 2 === 0;
  const colours = alpha ? source.channels - 1 : source.channels;
  const picked = which === 'colour' ? Array.from({ length: colours }, (_, c) => c) : alpha ? [colours] : [];
  const pixels = source.width * source.height;
  const data = new Float64Array(pixels * picked.length);
  for (let p = 0; p < pixels; p++) picked.forEach((c, k) => (data[p * picked.length + k] = source.data[p * source.channels + c]!));
  return { ...source, data, channels: picked.length };
}

function join2(colour: Samples, alpha: Samples): Samples {
  const channels = colour.channels + alpha.channels;
  const pixels = colour.width * colour.height;
  const data = new Float64Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < colour.channels; c++) data[p * channels + c] = colour.data[p * colour.channels + c]!;
    for (let c = 0; c < alpha.channels; c++) data[p * channels + colour.channels + c] = alpha.data[p * alpha.channels + c]!;
  }
  return { ...colour, data, channels };
}

/** lanczos3 to width × height in sharp, plane by plane (as the tool resizes a network's output), at 16 bits. */
async function lanczos(source: Samples, width: number, height: number): Promise<Samples> {
  const one = async (p: Samples): Promise<Samples> => {
    const wide = Uint16Array.from(p.data, (v) => (p.depth === 16 ? v : v * 257));
    const { data } = await sharp(wide, { raw: { width: p.width, height: p.height, channels: p.channels as 1 | 3 } })
      .toColourspace(p.channels === 1 ? 'grey16' : 'rgb16')
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    const values = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
    return { ...p, width, height, data: Float64Array.from(values, (v) => (p.depth === 16 ? v : Math.round(v / 257))) };
  };
  const colour = await one(plane(source, 'colour'));
  return source.channels % 2 === 0 ? join2(colour, await one(plane(source, 'alpha'))) : colour;
}

const root = scratch();
const inputs = join(root, 'in');
/** Each layout's samples as decoded from its input file (a palette's quantised RGBA). */
const sources = new Map<string, Samples>();

beforeAll(async () => {
  mkdirSync(inputs);
  for (const layout of LAYOUTS) {
    const path = join(inputs, `${layout.name}.${extension(layout)}`);
    await write(generate(layout), layout, path);
    sources.set(layout.name, await read(path));
  }
});

/** Runs the tool over every layout at once; returns each layout's output samples. */
async function run(label: string, options: UpscaleOptions): Promise<Map<string, Samples>> {
  const output = join(root, label);
  const report = await upscale(inputs, { ...options, output, device: 'cpu' });
  expect(report.files.filter((f) => f.status !== 'ok')).toEqual([]);
  const results = new Map<string, Samples>();
  for (const layout of LAYOUTS) results.set(layout.name, await read(join(output, `${layout.name}.${extension(layout)}`)));
  return results;
}

/** Every layout's output against its reference; all failures are reported together. */
function expectEach(results: Map<string, Samples>, reference: (source: Samples, layout: Layout) => Samples, threshold: number) {
  const low = LAYOUTS.map((layout) => [layout.name, psnr(results.get(layout.name)!, reference(sources.get(layout.name)!, layout))] as const).filter(([, db]) => db < threshold);
  expect(low).toEqual([]);
}

describe('layouts', () => {
  it('the inputs hold the generated samples (the reader is exact), in every layout', () => {
    for (const layout of LAYOUTS.filter((l) => !l.palette)) expect(psnr(sources.get(layout.name)!, generate(layout)), layout.name).toBe(Infinity);
    expect(sources.get('palette-trns-8-png')!.channels).toBe(4);
  });
});

describe.each(['nearest', 'bilinear', 'bicubic'] as const)('baseline %s against a reference resampler', (method) => {
  it.each([1, 2, 3, 4])('scale %d', async (scale) => {
    const results = await run(`${method}-${scale}`, { model: method, scale });
    expectEach(results, (source) => resize(source, WIDTH * scale, HEIGHT * scale, method), 48);
  });
});

describe('network (realesr-animevideov3-x4)', () => {
  let native: Map<string, Samples>;
  beforeAll(async () => {
    native = await run('network-4', { model: 'realesr-animevideov3-x4', scale: 4 });
  });

  it('at its own scale: 16-bit colour agrees with 8-bit in every layout', () => {
    // Colour only: on the alpha ramp the network itself answers sub-8-bit differences with visible ones (its
    // 8- and 16-bit outputs for float inputs within 0.5/255 of each other differ by 26 dB), so alpha is checked below.
    for (const layout of LAYOUTS.filter((l) => l.depth === 16)) {
      const deep = native.get(layout.name)!;
      const twin = native.get(layout.name.replace('-16-', '-8-'))!;
      const narrowed = { ...deep, depth: 8 as const, data: deep.data.map((v) => v / 257) };
      expect(psnr(plane(narrowed, 'colour'), plane(twin, 'colour')), layout.name).toBeGreaterThan(40);
    }
  });

  it.each([8, 16] as const)('at its own scale, %d-bit: grey and alpha planes equal the network run on them as RGB (the mean of its three outputs)', async (depth) => {
    // The grey channel and the alpha ramp, each as an RGB image of three equal channels.
    const folder = join(root, `as-rgb-${depth}`);
    mkdirSync(folder);
    const greyAlpha = sources.get(`grey-alpha-${depth}-png`)!;
    for (const which of ['colour', 'alpha'] as const) {
      const one = plane(greyAlpha, which);
      const rgb = { ...one, channels: 3, data: Float64Array.from({ length: one.data.length * 3 }, (_, i) => one.data[Math.floor(i / 3)]!) };
      await write(rgb, { name: which, channels: 3, depth, container: 'png' }, join(folder, `${which}.png`));
    }
    const output = `${folder}-out`;
    await upscale(folder, { model: 'realesr-animevideov3-x4', output, device: 'cpu' });
    const mean = async (name: string) => {
      const rgb = await read(join(output, `${name}.png`));
      return { ...rgb, channels: 1, data: Float64Array.from({ length: rgb.data.length / 3 }, (_, p) => Math.round((rgb.data[3 * p]! + rgb.data[3 * p + 1]! + rgb.data[3 * p + 2]!) / 3)) };
    };
    const [colour, alpha] = [await mean('colour'), await mean('alpha')];
    for (const name of [`grey-alpha-${depth}-png`, `grey-alpha-${depth}-tiff`, `grey-${depth}-png`]) {
      expect(psnr(plane(native.get(name)!, 'colour'), colour), name).toBeGreaterThan(45);
    }
    for (const name of [`grey-alpha-${depth}-png`, `rgba-${depth}-tiff`]) expect(psnr(plane(native.get(name)!, 'alpha'), alpha), name).toBeGreaterThan(45);
  });

  it.each([1, 2, 3])('scale %d equals its native output resized by lanczos3, plane by plane', async (scale) => {
    const results = await run(`network-${scale}`, { model: 'realesr-animevideov3-x4', scale });
    const expected = new Map<string, Samples>();
    for (const layout of LAYOUTS) expected.set(layout.name, await lanczos(native.get(layout.name)!, WIDTH * scale, HEIGHT * scale));
    expectEach(results, (_source, layout) => expected.get(layout.name)!, 45);
  });
});

describe('edits on every layout (after nearest 2x, itself checked above)', () => {
  const base = (source: Samples) => resize(source, WIDTH * 2, HEIGHT * 2, 'nearest');
  const W = WIDTH * 2;
  const H = HEIGHT * 2;
  beforeAll(async () => {
    await run('edit-base', { model: 'nearest', scale: 2 });
  });

  it.each<[string, UpscaleOptions, (s: Samples) => Samples]>([
    ['crop', { crop: '3,2,12,9' }, (s) => remap(s, 12, 9, (x, y) => [x + 3, y + 2])],
    ['rotate 90', { rotate: 90 }, (s) => remap(s, H, W, (x, y) => [y, H - 1 - x])],
    ['rotate 270', { rotate: 270 }, (s) => remap(s, H, W, (x, y) => [W - 1 - y, x])],
    ['flip', { flip: true }, (s) => remap(s, W, H, (x, y) => [x, H - 1 - y])],
    ['flop', { flop: true }, (s) => remap(s, W, H, (x, y) => [W - 1 - x, y])],
    ['contrast', { contrast: 1.5 }, (s) => curve(s, (v, peak) => (v - peak / 2) * 1.5 + peak / 2)],
    ['gamma', { gamma: 2 }, (s) => curve(s, (v, peak) => peak * (v / peak) ** 0.5)],
    ['grayscale', { grayscale: true }, luma],
  ])('%s against a reference written here', async (label, edit, reference) => {
    const results = await run(`edit-${label.replace(' ', '-')}`, { model: 'nearest', scale: 2, ...edit });
    expectEach(results, (source) => reference(base(source)), 48);
  });

  // The rest are sharp's own operations: the reference runs them on the unedited output file.
  it.each<[string, UpscaleOptions, (p: Sharp, hasAlpha: boolean) => Sharp]>([
    ['rotate 30', { rotate: 30 }, (p, alpha) => p.rotate(30, { background: { r: 0, g: 0, b: 0, alpha: alpha ? 0 : 1 } })],
    ['resize 13x9!', { resize: '13x9!' }, (p) => p.resize(13, 9, { fit: 'fill', kernel: 'lanczos3' })],
    ['resize 15x', { resize: '15x' }, (p) => p.resize(15, null, { kernel: 'lanczos3' })],
    ['brightness, saturation, hue', { brightness: 1.2, saturation: 0.5, hue: 90 }, (p) => p.modulate({ brightness: 1.2, saturation: 0.5, hue: 90 })],
    ['normalize', { normalize: true }, (p) => p.normalise()],
    ['denoise', { denoise: 1 }, (p) => p.median(3)],
    ['blur', { blur: 1 }, (p) => p.blur(1)],
    ['sharpen', { sharpen: 1 }, (p) => p.sharpen({ sigma: 1 })],
  ])('%s against sharp on the file', async (label, edit, reference) => {
    const unedited = join(root, 'edit-base');
    const results = await run(`edit-${label.replace(/\W+/g, '-')}`, { model: 'nearest', scale: 2, ...edit });
    const expected = new Map<string, Samples>();
    for (const layout of LAYOUTS) {
      const file = join(unedited, `${layout.name}.${extension(layout)}`);
      expected.set(layout.name, await read(file, (p) => reference(p, layout.channels % 2 === 0)));
    }
    expectEach(results, (_source, layout) => expected.get(layout.name)!, 45);
  });
});

describe('metadata kept or stripped: the same pixels', () => {
  it.each([false, true])('--strip-metadata %s', async (stripMetadata) => {
    const results = await run(`strip-${stripMetadata}`, { model: 'bilinear', scale: 3, stripMetadata });
    expectEach(results, (source) => resize(source, WIDTH * 3, HEIGHT * 3, 'bilinear'), 48);
  });
});

/**
 * Grey PNGs whose transparency is a tRNS colour key, written here chunk by chunk after PngSuite's tbbn0g04 (4-bit grey,
 * key 15, a black bKGD) and tbwn0g16 (16-bit grey, a white bKGD), at every grey depth. The reference is the PNG
 * specification itself: a pixel whose stored grey equals the key is transparent, every other one opaque. (Pillow gets
 * the transparency of those two PngSuite files wrong, so against Pillow their alpha is "off by 255" by Pillow's error.)
 */
describe('grey PNGs with a tRNS colour key keep their transparency, at every depth', () => {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  /** An 8x4 grey PNG: columns 0-3 hold the key, the others alternate the two largest values. */
  const greyWithKey = (depth: 1 | 2 | 4 | 8 | 16, key: number, background: number) => {
    const [W, H] = [8, 4];
    const max = 2 ** depth - 1;
    const stored = (x: number) => (x < 4 ? key : x % 2 ? max : max - 1 === key ? 0 : max - 1);
    const rows = Array.from({ length: H }, () => {
      const row = Buffer.alloc(1 + Math.ceil((W * depth) / 8));
      for (let x = 0; x < W; x++) {
        if (depth === 16) row.writeUInt16BE(stored(x), 1 + 2 * x);
        else row[1 + ((x * depth) >> 3)]! |= stored(x) << (8 - depth - ((x * depth) & 7));
      }
      return row;
    });
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(W, 0);
    ihdr.writeUInt32BE(H, 4);
    ihdr.set([depth, 0, 0, 0, 0], 8);
    const word = (v: number) => Buffer.from([v >> 8, v & 255]);
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('gAMA', Buffer.from([0, 1, 0x86, 0xa0])),
      chunk('bKGD', word(background)),
      chunk('tRNS', word(key)),
      chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    return { png, stored, max };
  };

  it.each([
    [4, 15, 0, 'tbbn0g04: 4-bit, key 15 (the largest value), black background'],
    [16, 65535, 65535, 'tbwn0g16: 16-bit, key 65535, white background'],
    [16, 0, 65535, '16-bit, key 0'],
    [1, 1, 0, '1-bit, key 1'],
    [2, 2, 0, '2-bit, key 2'],
    [8, 200, 255, '8-bit, key 200'],
  ] as const)('%i-bit key %i (background %i): %s', async (depth, key, background, _file) => {
    const dir = scratch();
    const { png, stored, max } = greyWithKey(depth, key, background);
    const input = join(dir, `grey${depth}.png`);
    writeFileSync(input, png);
    const output = join(dir, `grey${depth}-x2.png`);
    const report = await upscale(input, { output, model: 'nearest', scale: 2 });
    expect(report.files[0]!.status).toBe('ok');
    // Written as grey + alpha. sharp hands 8-bit grey + alpha back spread to RGBA; 16-bit is read as grey16 (spread
    // to RGBA, its alpha would come back as 8-bit values).
    expect(await sharp(output).metadata()).toMatchObject({ channels: 2, hasAlpha: true });
    const read = depth === 16 ? sharp(output).toColourspace('grey16').raw({ depth: 'ushort' }) : sharp(output).raw();
    const { data, info } = await read.toBuffer({ resolveWithObject: true });
    const stride = info.channels;
    const samples = depth === 16 ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data;
    const peak = depth === 16 ? 65535 : 255;
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 16; x++) {
        const source = stored(x >> 1);
        const at = (y * 16 + x) * stride;
        // Alpha 0 exactly at the key; elsewhere opaque, the grey scaled to the output's depth by the specification's
        // bit replication. (A transparent pixel's grey is the tool's to choose: it bleeds its neighbours' in.)
        expect(samples[at + stride - 1], `alpha at ${x},${y}`).toBe(source === key ? 0 : peak);
        if (source !== key) expect(samples[at], `grey at ${x},${y}`).toBe(Math.round((source * peak) / max));
      }
    }
  });
});
