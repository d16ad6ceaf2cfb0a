/** Editing the result: colour, filters, watermark, annotation and exact sizes, on real pixels. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { placeOverlay } from '../src/pixels/edit.js';
import { cli, fixtures, pixels, scratch, type Pixels } from './helpers.js';

const cat = join(fixtures, 'images', 'cat.png');
const out = scratch();
let counter = 0;

/** Runs the CLI on cat.png at scale 1 (nearest: pixels untouched) with extra flags; returns the output's pixels. */
async function edited(...flags: string[]): Promise<Pixels> {
  const target = join(out, `e${counter++}.png`);
  const run = await cli(cat, '-o', target, '-m', 'nearest', '-s', '1', ...flags);
  expect(run.code, run.stderr).toBe(0);
  return pixels(target);
}

const mean = (p: Pixels, channel = 0) => {
  let sum = 0;
  for (let i = channel; i < p.data.length; i += p.channels) sum += p.data[i]!;
  return sum / (p.data.length / p.channels);
};

const std = (p: Pixels) => {
  const m = mean(p);
  let sum = 0;
  for (let i = 0; i < p.data.length; i += p.channels) sum += (p.data[i]! - m) ** 2;
  return Math.sqrt(sum / (p.data.length / p.channels));
};

/** Mean absolute difference between horizontal neighbours: a measure of fine detail. */
const detail = (p: Pixels) => {
  let sum = 0;
  for (let y = 0; y < p.height; y++)
    for (let x = 1; x < p.width; x++) sum += Math.abs(p.data[(y * p.width + x) * p.channels]! - p.data[(y * p.width + x - 1) * p.channels]!);
  return sum / (p.height * (p.width - 1));
};

const at = (p: Pixels, x: number, y: number) => Array.from(p.data.subarray((y * p.width + x) * p.channels, (y * p.width + x + 1) * p.channels));

describe('colour', () => {
  it('--saturation 0 gives R = G = B', async () => {
    const grey = await edited('--saturation', '0');
    for (let i = 0; i < grey.data.length; i += 3) {
      expect(Math.abs(grey.data[i]! - grey.data[i + 1]!)).toBeLessThanOrEqual(1);
      expect(Math.abs(grey.data[i + 1]! - grey.data[i + 2]!)).toBeLessThanOrEqual(1);
    }
  });

  it('--brightness scales lightness up and down', async () => {
    const base = await edited();
    expect(mean(await edited('--brightness', '1.5'))).toBeGreaterThan(mean(base) + 20);
    expect(mean(await edited('--brightness', '0.5'))).toBeLessThan(mean(base) - 20);
  });

  it('--hue 180 turns the orange cat blue', async () => {
    const base = await edited();
    const turned = await edited('--hue', '180');
    expect(mean(base, 0)).toBeGreaterThan(mean(base, 2));
    expect(mean(turned, 2)).toBeGreaterThan(mean(turned, 0));
  });

  it('--contrast 0 flattens to mid-grey; 2 doubles the spread', async () => {
    const flat = await edited('--contrast', '0');
    expect(new Set(flat.data)).toEqual(new Set([128]));
    expect(std(await edited('--contrast', '2'))).toBeGreaterThan(1.6 * std(await edited()));
  });

  it('--gamma 2 maps each sample v to 255 · (v/255)^(1/2)', async () => {
    const base = await edited();
    const bright = await edited('--gamma', '2');
    for (let i = 0; i < base.data.length; i += 97) expect(bright.data[i]).toBe(Math.round(255 * Math.sqrt(base.data[i]! / 255)));
  });
});

describe('filters', () => {
  it('--grayscale writes a single-channel image', async () => {
    const target = join(out, 'grey.png');
    await cli(cat, '-o', target, '-m', 'nearest', '--grayscale');
    expect(await sharp(target).metadata()).toMatchObject({ channels: 1, space: 'b-w' });
  });

  it('--normalize stretches to the full range', async () => {
    const dull = await edited('--contrast', '0.3');
    const stretched = await edited('--contrast', '0.3', '--normalize');
    expect(std(stretched)).toBeGreaterThan(2 * std(dull));
  });

  it('--blur removes detail, --sharpen adds it, --denoise removes isolated specks', async () => {
    const base = detail(await edited());
    expect(detail(await edited('--blur', '2'))).toBeLessThan(base * 0.6);
    expect(detail(await edited('--sharpen', '2'))).toBeGreaterThan(base * 1.1);
    expect(detail(await edited('--sharpen'))).toBeGreaterThan(base);
    expect(detail(await edited('--denoise', '1'))).toBeLessThan(base * 0.9);
  });
});

describe('watermark and annotation', () => {
  it('the watermark lands where asked, at its scale and opacity', async () => {
    const mark = join(out, 'red.png');
    await sharp({ create: { width: 10, height: 10, channels: 3, background: '#ff0000' } }).png().toFile(mark);
    const opaque = await edited('--watermark', mark, '--watermark-position', 'northeast', '--watermark-opacity', '1', '--watermark-scale', '0.25', '--watermark-margin', '0');
    // 0.25 of 48 px = a 12 px square in the top-right corner.
    expect(at(opaque, 47, 0)).toEqual([255, 0, 0]);
    expect(at(opaque, 36, 11)).toEqual([255, 0, 0]);
    const base = await edited();
    expect(at(opaque, 35, 12)).toEqual(at(base, 35, 12));
    expect(at(opaque, 0, 39)).toEqual(at(base, 0, 39));
    const half = await edited('--watermark', mark, '--watermark-position', 'southwest', '--watermark-opacity', '0.5', '--watermark-scale', '0.25', '--watermark-margin', '0');
    const [r, g] = at(half, 0, 39);
    const [r0, g0] = at(base, 0, 39);
    expect(Math.abs(r! - (r0! + 255) / 2)).toBeLessThanOrEqual(2);
    expect(Math.abs(g! - g0! / 2)).toBeLessThanOrEqual(2);
  });

  it('the watermark keeps a margin from the edges: 1/40 of the shorter side by default, or --watermark-margin', async () => {
    const mark = join(out, 'red.png');
    await sharp({ create: { width: 10, height: 10, channels: 3, background: '#ff0000' } }).png().toFile(mark);
    const base = await edited();
    const red = [255, 0, 0];
    // 48x40: the default margin is 1 px; the 12 px square spans x 35-46, y 1-12.
    const near = await edited('--watermark', mark, '--watermark-position', 'northeast', '--watermark-opacity', '1', '--watermark-scale', '0.25');
    expect([at(near, 35, 1), at(near, 46, 12)]).toEqual([red, red]);
    expect([at(near, 47, 0), at(near, 47, 5), at(near, 34, 1), at(near, 40, 13)]).toEqual([at(base, 47, 0), at(base, 47, 5), at(base, 34, 1), at(base, 40, 13)]);
    const wide = await edited('--watermark', mark, '--watermark-position', 'southwest', '--watermark-opacity', '1', '--watermark-scale', '0.25', '--watermark-margin', '5');
    expect([at(wide, 5, 34), at(wide, 16, 23)]).toEqual([red, red]);
    expect([at(wide, 4, 34), at(wide, 5, 35)]).toEqual([at(base, 4, 34), at(base, 5, 35)]);
  });

  it('placeOverlay: margins against the edges placed on, centred along the others, shrunk when there is no room', () => {
    const base = { width: 100, height: 60 };
    const mark = { width: 20, height: 10 };
    expect(placeOverlay('northeast', base, mark, 4)).toEqual({ left: 76, top: 4 });
    expect(placeOverlay('southwest', base, mark, 4)).toEqual({ left: 4, top: 46 });
    expect(placeOverlay('south', base, mark, 4)).toEqual({ left: 40, top: 46 });
    expect(placeOverlay('center', base, mark, 4)).toEqual({ left: 40, top: 25 });
    expect(placeOverlay('west', base, { width: 98, height: 60 }, 4)).toEqual({ left: 1, top: 0 });
  });

  it('--annotate draws text in its colour at --annotate-position, apart from the watermark by default', async () => {
    const target = join(out, 'text.png');
    await cli(cat, '-o', target, '-m', 'nearest', '--annotate', 'HELLO', '--annotate-colour', '#00ff00', '--annotate-size', '30', '--annotate-position', 'south');
    const text = await pixels(target);
    const green = (x0: number, y0: number, x1: number, y1: number) => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (at(text, x, y)[1]! > 200 && at(text, x, y)[0]! < 80) n++;
      return n;
    };
    expect(green(0, 100, 192, 160)).toBeGreaterThan(100);
    expect(green(0, 0, 192, 60)).toBe(0);
    const stray = await cli(cat, '-o', join(out, 'stray.png'), '-m', 'nearest', '--annotate-position', 'south');
    expect([stray.code, stray.stderr]).toEqual([2, 'upscale: --annotate-position needs --annotate <text>\n']);
  });
});

describe('exact dimensions', () => {
  it.each([
    [['--resize', '100x50!'], [100, 50]],
    [['--resize', '100x100'], [100, 83]],
    [['--resize', '100x100', '--fit', 'cover'], [100, 100]],
    [['--resize', '100x100', '--fit', 'contain'], [100, 100]],
    [['--resize', '100x100', '--fit', 'fill'], [100, 100]],
    [['--width', '96'], [96, 80]],
    [['--height', '20'], [24, 20]],
  ])('%j gives %j', async (flags, [width, height]) => {
    const target = join(out, `size${counter++}.png`);
    const run = await cli(cat, '-o', target, '-m', 'bicubic', '--json', ...flags);
    expect(JSON.parse(run.stdout).files[0]).toMatchObject({ outWidth: width, outHeight: height });
    expect(await sharp(target).metadata()).toMatchObject({ width, height });
  });

  it('contain pads with black, cover crops: both keep the picture undistorted', async () => {
    const contain = await edited('--resize', '48x60', '--fit', 'contain');
    expect(at(contain, 24, 0)).toEqual([0, 0, 0]);
    const cover = await edited('--resize', '48x60', '--fit', 'cover');
    expect(at(cover, 24, 0)).not.toEqual([0, 0, 0]);
  });
});

describe('validated up front', () => {
  it.each([
    [['--brightness', '-1'], 'Expected number between 0 and 10 for --brightness but received "-1"'],
    [['--saturation', 'lots'], 'Expected number between 0 and 10 for --saturation but received "lots"'],
    [['--hue', '400'], 'Expected number between -360 and 360 for --hue but received "400"'],
    [['--gamma', '0'], 'Expected number between 0.1 and 10 for --gamma but received "0"'],
    [['--contrast', 'x'], 'Expected number between 0 and 10 for --contrast but received "x"'],
    [['--blur', '0.1'], 'Expected number between 0.3 and 1000 for --blur but received "0.1"'],
    [['--sharpen', '0'], 'Expected number between 0.01 and 10 for --sharpen but received "0"'],
    [['--denoise', '1.5'], 'Expected integer between 1 and 10 for --denoise but received "1.5"'],
    [['--fit', 'stretch', '--width', '10'], 'Expected one of inside, cover, contain, fill for --fit but received "stretch"'],
    [['--fit', 'cover'], '--fit needs --resize, --width or --height'],
    [['--resize', '10x10', '--width', '5'], '--resize and --width cannot be used together'],
    [['--resize', '10x!'], 'Expected WxH, Wx, xH or WxH! with whole numbers of pixels for --resize but received "10x!"'],
    [['--watermark', 'missing.png'], '--watermark missing.png: not a readable image (no such file)'],
    [['--watermark-opacity', '0.5'], '--watermark-opacity needs --watermark <file>'],
    [['--watermark', cat, '--watermark-position', 'top'], 'Expected one of north, northeast, east, southeast, south, southwest, west, northwest, center for --watermark-position but received "top"'],
    [['--watermark', cat, '--watermark-opacity', '2'], 'Expected number between 0 and 1 for --watermark-opacity but received "2"'],
    [['--annotate', 'hi', '--annotate-colour', 'rgb(1,2,3)'], 'Expected a colour as #rgb, #rrggbb or a CSS name for --annotate-colour but received "rgb(1,2,3)"'],
    [['--annotate-size', '20'], '--annotate-size needs --annotate <text>'],
  ])('%j', async (flags, message) => {
    const run = await cli(cat, '-o', scratch(), ...flags);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`upscale: ${message}\n`);
  });

  it('a watermark that is not an image is refused before any work', async () => {
    const bogus = join(out, 'bogus.png');
    writeFileSync(bogus, 'not an image');
    const run = await cli(cat, '-o', scratch(), '--watermark', bogus);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^upscale: --watermark .*bogus\.png: not a readable image \(/);
  });
});
