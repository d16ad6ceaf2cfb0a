/** End to end on real pixels: the shipped networks, tiling, alpha, grey, 16-bit, orientation and metadata. */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { upscale, type ModelName } from '../src/index.js';
import { fixtures, pixels, psnr, scratch } from './helpers.js';

const out = scratch();
const image = (name: string) => join(fixtures, 'images', name);
const golden = (name: string) => join(fixtures, 'golden', name);

describe('shipped models through the tool, whole image (--tile 0)', () => {
  it.each<[ModelName, string]>([
    ['realesr-general-x4v3', 'coffee-96'],
    ['realesr-animevideov3', 'chelsea-96'], // the family name picks -x4 at the default scale
    ['realesr-animevideov3-x2', 'coffee-96'],
    ['realesr-animevideov3-x3', 'chelsea-96'],
    ['realesrgan-x4plus', 'coffee-64'],
    ['realesrgan-x4plus-anime', 'chelsea-64'],
  ])('%s on %s matches the PyTorch reference (≥ 50 dB)', async (model, crop) => {
    const variant = model === 'realesr-animevideov3' ? 'realesr-animevideov3-x4' : model;
    const target = join(out, `${crop}.${model}.png`);
    const report = await upscale(golden(`${crop}.png`), { model, tile: 0, output: target, device: 'cpu' });
    expect(report.files[0]!.status).toBe('ok');
    expect(report.summary.model).toBe(variant);
    expect(psnr(await pixels(target), await pixels(golden(`${crop}.${variant}.png`)))).toBeGreaterThanOrEqual(50);
  });
});

describe('tiling', () => {
  it('SRVGG: 16 px tiles with the default overlap equal the whole-image output (≥ 50 dB)', async () => {
    const whole = join(out, 'whole.png');
    const tiled = join(out, 'tiled.png');
    await upscale(golden('coffee-64.png'), { tile: 0, output: whole, device: 'cpu' });
    await upscale(golden('coffee-64.png'), { tile: 16, output: tiled, device: 'cpu' });
    expect(psnr(await pixels(tiled), await pixels(whole))).toBeGreaterThanOrEqual(50);
  });

  it('SRVGG: too little overlap shows (the test can fail)', async () => {
    const whole = join(out, 'whole-b.png');
    const tiled = join(out, 'tiled-b.png');
    await upscale(golden('coffee-64.png'), { tile: 16, tileOverlap: 2, output: tiled, device: 'cpu' });
    await upscale(golden('coffee-64.png'), { tile: 0, output: whole, device: 'cpu' });
    expect(psnr(await pixels(tiled), await pixels(whole))).toBeLessThan(45);
  });

  it('RRDB: feathered 32 px tiles stay close to whole-image output', async () => {
    const whole = join(out, 'anime-whole.png');
    const tiled = join(out, 'anime-tiled.png');
    await upscale(golden('chelsea-64.png'), { model: 'realesrgan-x4plus-anime', tile: 0, output: whole, device: 'cpu' });
    await upscale(golden('chelsea-64.png'), { model: 'realesrgan-x4plus-anime', tile: 32, output: tiled, device: 'cpu' });
    expect(psnr(await pixels(tiled), await pixels(whole))).toBeGreaterThanOrEqual(35);
  });
});

describe('scale', () => {
  it('8× with a 4× model is two passes then an exact-size result; 2.5× is one pass then a downscale', async () => {
    const report = await upscale(image('camera-grey.png'), { scale: 8, output: join(out, 'grey-x8.png'), model: 'realesr-animevideov3', device: 'cpu' });
    expect(report.files[0]).toMatchObject({ status: 'ok', outWidth: 320, outHeight: 256 });
    const fractional = await upscale(image('cat.png'), { scale: 2.5, output: join(out, 'cat-x2.5.png'), device: 'cpu' });
    expect(fractional.files[0]).toMatchObject({ outWidth: 120, outHeight: 100 });
    expect(await sharp(join(out, 'cat-x2.5.png')).metadata()).toMatchObject({ width: 120, height: 100 });
  });

  /** The `start` event and the `tile` events of one image's run. */
  async function progressOf(input: string, options: Parameters<typeof upscale>[1]) {
    const events: { type: string; tilesDone?: number; tilesTotal?: number }[] = [];
    await upscale(input, { ...options, device: 'cpu', onEvent: (event) => events.push(event) });
    return { start: events.find((e) => e.type === 'start')!, tiles: events.filter((e) => e.type === 'tile') };
  }

  it('progress counts the tiles of every pass: the second pass of 8× runs on a 4× larger image', async () => {
    const { start, tiles } = await progressOf(image('camera-grey.png'), { scale: 8, output: join(out, 'grey-x8-tiled.png'), model: 'realesr-animevideov3', tile: 32 });
    // 40×32 in 32 px tiles with 18 px of context: one window; then 160×128: 5 × 4 windows.
    expect(start.tilesTotal).toBe(1 + 20);
    expect(tiles).toHaveLength(21);
    expect(tiles.at(-1)).toMatchObject({ tilesDone: 21, tilesTotal: 21 });
  });

  it('progress counts the tiles of a translucent alpha plane, which runs through the network too', async () => {
    const translucent = join(out, 'translucent-96x64.png');
    await sharp(image('cat.png')).resize(96, 64).ensureAlpha(0.5).png().toFile(translucent);
    const { start, tiles } = await progressOf(translucent, { scale: 2, output: join(out, 'translucent-x2.png'), model: 'realesr-animevideov3', tile: 32 });
    // The -x2 variant runs the ×4 network once: 96×64 in 32 px tiles with 19 px of context is 3 × 1 windows (64 rows
    // fit one 70 px window), for colour and for alpha.
    expect(tiles).toHaveLength(6);
    expect(start.tilesTotal).toBe(6);
    expect(tiles.map((e) => e.tilesTotal)).toEqual(Array(6).fill(6));
  });
});

describe('pixel formats', () => {
  it('keeps alpha, upscaling its structure with the model', async () => {
    const target = join(out, 'alpha.png');
    await upscale(image('cat-alpha.png'), { output: target, device: 'cpu', model: 'realesr-animevideov3' });
    const result = await pixels(target);
    expect(result.channels).toBe(4);
    const source = await pixels(image('cat-alpha.png'));
    // Alpha follows the source's radial fade: opaque at the centre, transparent in the corners.
    const alphaAt = (p: typeof result, x: number, y: number) => p.data[(y * p.width + x) * 4 + 3]!;
    expect(alphaAt(result, 0, 0)).toBeLessThan(10);
    expect(alphaAt(result, result.width / 2, result.height / 2)).toBeGreaterThan(245);
    const down = await sharp(target).resize(48, 40, { kernel: 'cubic' }).raw().toBuffer();
    let error = 0;
    for (let p = 0; p < 48 * 40; p++) error += Math.abs(down[p * 4 + 3]! - source.data[p * 4 + 3]!);
    expect(error / (48 * 40)).toBeLessThan(6);
  });

  it('keeps grey single-channel', async () => {
    const target = join(out, 'grey.png');
    await upscale(image('camera-grey.png'), { output: target, device: 'cpu' });
    const meta = await sharp(target).metadata();
    expect(meta).toMatchObject({ channels: 1, width: 160, height: 128, space: 'b-w' });
  });

  it('keeps 16-bit PNG 16-bit, with detail below the 8-bit step', async () => {
    const target = join(out, 'deep.png');
    await upscale(image('coffee-16bit.png'), { output: target, device: 'cpu', model: 'bicubic' });
    expect(await sharp(target).metadata()).toMatchObject({ depth: 'ushort', width: 192, height: 128 });
    const deep = await pixels(target, true);
    const samples = new Uint16Array(deep.data.buffer, deep.data.byteOffset, deep.data.length / 2);
    expect(samples.some((v) => v % 257 !== 0)).toBe(true);
    const network = join(out, 'deep-network.tif');
    await upscale(image('coffee-16bit.png'), { output: network, device: 'cpu', model: 'realesr-animevideov3' });
    expect(await sharp(network).metadata()).toMatchObject({ depth: 'ushort', format: 'tiff' });
  });

  it('applies EXIF orientation before upscaling and writes an upright image', async () => {
    const target = join(out, 'upright.png');
    const report = await upscale(image('cat-exif-rotated.jpg'), { output: target, model: 'nearest' });
    expect(report.files[0]).toMatchObject({ width: 48, height: 40, outWidth: 192, outHeight: 160 });
    const meta = await sharp(target).metadata();
    expect(meta.orientation ?? 1).toBe(1);
    // Same picture as the upright original, upscaled the same way.
    const reference = join(out, 'upright-reference.png');
    await upscale(image('cat.png'), { output: reference, model: 'nearest' });
    expect(psnr(await pixels(target), await pixels(reference))).toBeGreaterThan(30);
  });

  it('keeps the ICC profile, EXIF and the untouched pixel values; --strip-metadata drops them', async () => {
    const kept = join(out, 'p3.jpg');
    await upscale(image('cat-p3.jpg'), { output: kept, model: 'nearest', quality: 100 });
    const source = await sharp(image('cat-p3.jpg')).metadata();
    const meta = await sharp(kept).metadata();
    expect(meta.icc?.equals(source.icc!)).toBe(true);
    expect(meta.exif?.toString('latin1')).toContain('CC0 Stefan van der Walt');
    // Pixels stay in the profile's space: no conversion to sRGB on the way through.
    const down = await sharp(kept).keepIccProfile().resize(48, 40, { kernel: 'nearest' }).raw().toBuffer();
    const original = await pixels(image('cat-p3.jpg'));
    expect(psnr({ ...original, data: down }, original)).toBeGreaterThan(35);
    const stripped = join(out, 'p3-stripped.jpg');
    await upscale(image('cat-p3.jpg'), { output: stripped, model: 'nearest', stripMetadata: true });
    const bare = await sharp(stripped).metadata();
    expect(bare.icc).toBeUndefined();
    expect(bare.exif).toBeUndefined();
  });

  it('never modifies its input', async () => {
    const copy = join(out, 'input-copy.png');
    copyFileSync(image('cat.png'), copy);
    const before = await pixels(copy);
    await upscale(copy, { model: 'bilinear' });
    expect((await pixels(copy)).data.equals(before.data)).toBe(true);
  });
});
