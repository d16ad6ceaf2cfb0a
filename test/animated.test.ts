/**
 * Animated GIF and WebP: every frame upscaled, with the frame count, each frame's delay, the loop count and
 * transparency kept; conversion between the two; the still-format error; `--frame`; memory accounting; the report.
 * Frames are checked on their pixels against each input frame upscaled on its own.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, pixels, psnr, scratch, type Pixels } from './helpers.js';

const WIDTH = 8;
const HEIGHT = 6;
const DELAYS = [100, 250, 40, 70];
const LOOP = 3;

/** Frames unlike each other (so a shifted or repeated frame shows), each with transparent pixels in its own places. */
function framePixels(frames: number, width = WIDTH, height = HEIGHT): Buffer {
  const data = Buffer.alloc(width * height * frames * 4);
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const at = ((f * height + y) * width + x) * 4;
        data.set([(f * 70 + x * 20) % 256, (y * 40 + f * 30) % 256, ((x + y) * 25 + f * 90) % 256, (x + y + f) % 4 === 0 ? 0 : 255], at);
      }
    }
  }
  return data;
}

/** Smooth frames (lossy WebP keeps them well), each shifted and with its own transparent corner. */
function smoothPixels(frames: number, width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * frames * 4);
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const wave = (c: number) => Math.round(127 + 100 * Math.sin((x + 3 * f) * 0.3 + c) * Math.cos((y - 2 * f) * 0.25 - c));
        data.set([wave(0), wave(2), wave(4), x < width / 3 && (f % 2 === 0 ? y < height / 2 : y >= height / 2) ? 0 : 255], ((f * height + y) * width + x) * 4);
      }
    }
  }
  return data;
}

async function animation(path: string, format: 'gif' | 'webp', frames = DELAYS.length, width = WIDTH, height = HEIGHT, smooth = false): Promise<void> {
  const samples = smooth ? smoothPixels(frames, width, height) : framePixels(frames, width, height);
  const pipeline = sharp(samples, { raw: { width, height: height * frames, channels: 4, pageHeight: height } });
  const timing = { loop: LOOP, delay: DELAYS.length === frames ? DELAYS : Array<number>(frames).fill(50) };
  await (format === 'gif' ? pipeline.gif({ ...timing, keepDuplicateFrames: true }) : pipeline.webp({ ...timing, lossless: true })).toFile(path);
}

/** Frame k of a file, decoded alone: RGBA samples. */
async function frame(path: string, k: number): Promise<Pixels> {
  const { data, info } = await sharp(path, { page: k }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Nearest-neighbour ×2 of an RGBA frame: exact pixel replication, the reference for `-m nearest -s 2`. */
function doubled(source: Pixels): Pixels {
  const width = source.width * 2;
  const height = source.height * 2;
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) source.data.copy(data, (y * width + x) * 4, ((y >> 1) * source.width + (x >> 1)) * 4, ((y >> 1) * source.width + (x >> 1)) * 4 + 4);
  }
  return { data, width, height, channels: 4 };
}

/** Fully transparent pixels compare as equal whatever colour they hold (GIF keeps no colour for them). */
function clearTransparent(image: Pixels): Pixels {
  const data = Buffer.from(image.data);
  for (let i = 0; i < data.length; i += 4) if (data[i + 3] === 0) data.fill(0, i, i + 4);
  return { ...image, data };
}

describe('animated GIF and WebP', () => {
  const folder = scratch();
  const gif = join(folder, 'spin.gif');
  const webp = join(folder, 'spin.webp');
  beforeAll(async () => {
    await animation(gif, 'gif');
    await animation(webp, 'webp');
  });

  it.each([
    ['GIF → GIF', 'spin.gif', [], 'spin.gif', Infinity],
    ['WebP → WebP', 'spin.webp', [], 'spin.webp', 12],
    ['GIF → WebP with -f webp', 'spin.gif', ['-f', 'webp'], 'spin.webp', 12],
    ['WebP → GIF with -o x.gif', 'spin.webp', ['-o', 'converted.gif'], 'converted.gif', Infinity],
  ])('%s: every frame upscaled, delays, loop and transparency kept', async (_, name, flags, outputName, minimumDb) => {
    const out = scratch();
    const input = join(folder, name);
    const output = join(out, outputName);
    const run = await cli(input, '-m', 'nearest', '-s', '2', ...(flags.includes('-o') ? [flags[0]!, join(out, flags[1]!)] : ['-o', out, ...flags]));
    expect([run.code, run.stderr]).toEqual([0, expect.stringMatching(/^1 upscaled in /)]);
    const meta = await sharp(output).metadata();
    expect([meta.format, meta.pages, meta.delay, meta.loop, meta.width, meta.height]).toEqual([outputName.endsWith('gif') ? 'gif' : 'webp', 4, DELAYS, LOOP, 16, 12]);
    for (let k = 0; k < DELAYS.length; k++) {
      const expected = clearTransparent(doubled(await frame(input, k)));
      const got = clearTransparent(await frame(output, k));
      // Transparent pixels stay exactly transparent, opaque ones opaque.
      expect(got.data.filter((_, i) => i % 4 === 3)).toEqual(expected.data.filter((_, i) => i % 4 === 3));
      // GIF is exact here (the frames have few colours); lossy WebP halves the chroma of these noisy 16x12 frames.
      expect(psnr(got, expected)).toBeGreaterThanOrEqual(minimumDb);
    }
  });

  it('a still format for an animated input is an error for that file, naming the fixes; the batch goes on', async () => {
    const out = scratch();
    const still = join(scratch(), 'still.png');
    await sharp(framePixels(1), { raw: { width: WIDTH, height: HEIGHT, channels: 4 } }).png().toFile(still);
    const run = await cli(gif, still, '-o', out, '-m', 'nearest', '-f', 'png');
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')[0]).toBe(
      `${gif}: is animated (4 frames) but png holds one image; keep the animation with -f webp or -f gif, or take one frame with --frame N (0-3)`,
    );
    expect(readdirSync(out)).toEqual(['still.png']);
    const jpeg = await cli(gif, '-o', join(out, 'x.jpg'), '-m', 'nearest');
    expect(jpeg.stderr.split('\n')[0]).toBe(`${gif}: is animated (4 frames) but jpeg holds one image; keep the animation with -f webp or -f gif, or take one frame with --frame N (0-3)`);
  });

  it('--frame N takes one frame as a still, in any format; past the last frame is an error', async () => {
    const out = scratch();
    const run = await cli(gif, '-o', join(out, 'two.png'), '-m', 'nearest', '-s', '2', '--frame', '2', '--json');
    expect(run.code).toBe(0);
    const [entry] = JSON.parse(run.stdout).files;
    expect(entry.frames).toBeUndefined();
    const got = await pixels(join(out, 'two.png'));
    expect((await sharp(join(out, 'two.png')).metadata()).pages ?? 1).toBe(1);
    expect(psnr(clearTransparent(got), clearTransparent(doubled(await frame(gif, 2))))).toBe(Infinity);
    const past = await cli(gif, '-o', out, '-m', 'nearest', '--frame', '4');
    expect(past.stderr.split('\n')[0]).toBe(`${gif}: --frame 4 is past its last frame (it has 4, numbered from 0)`);
    const bad = await cli(gif, '-o', out, '--frame', '-1');
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'upscale: Expected integer between 0 and 65535 for --frame but received "-1"']);
  });

  it('with a network, frame k of the animation is frame k upscaled alone', async () => {
    const input = join(scratch(), 'wave.webp');
    await animation(input, 'webp', 3, 24, 18, true);
    const out = scratch();
    const model = ['-m', 'realesr-animevideov3', '-s', '2', '--tile', '16'];
    expect((await cli(input, '-o', join(out, 'all.webp'), '-q', '100', ...model)).code).toBe(0);
    // Each frame alone, losslessly; then those frames through the same encoder, at the same settings.
    const alone: Pixels[] = [];
    for (let k = 0; k < 3; k++) {
      expect((await cli(input, '-o', join(out, `${k}.png`), '--frame', String(k), ...model)).code).toBe(0);
      alone.push(await frame(join(out, `${k}.png`), 0));
    }
    const { width, height } = alone[0]!;
    await sharp(Buffer.concat(alone.map((f) => f.data)), { raw: { width, height: height * 3, channels: 4, pageHeight: height } })
      .webp({ quality: 100, loop: LOOP, delay: [50, 50, 50] })
      .toFile(join(out, 'expected.webp'));
    for (let k = 0; k < 3; k++) {
      const got = await frame(join(out, 'all.webp'), k);
      expect(psnr(got, await frame(join(out, 'expected.webp'), k))).toBe(Infinity);
      // A frame out of place would not come close.
      expect(psnr(got, await frame(join(out, 'expected.webp'), (k + 1) % 3))).toBeLessThan(25);
    }
  });

  it('dry run and --json report the frames; an animation counts all its frames in the memory budget', async () => {
    const input = join(scratch(), 'long.webp');
    await animation(input, 'webp', 20, 160, 160);
    const plan = await cli(input, '--dry-run', '--memory', '256', '-m', 'realesr-general-x4v3');
    expect(plan.stdout.trim()).toBe(`${input} → ${input.replace(/\.webp$/, '-x4.webp')} (160x160 → 640x640, 20 frames)`);
    expect(plan.stderr).toMatch(/long\.webp: needs about \d+ MiB even in the smallest tiles, more than --memory 256 \(the enlarged image itself is held in memory\); going ahead\. Use a smaller --scale to need less\n/);
    const one = await cli(input, '--dry-run', '--memory', '256', '-m', 'realesr-general-x4v3', '--frame', '0', '--json');
    expect(one.stderr).not.toMatch(/needs about/);
    expect(JSON.parse(one.stdout).files[0].frames).toBeUndefined();
    const json = JSON.parse((await cli(input, '--dry-run', '--json', '-m', 'nearest')).stdout);
    expect(json.files[0]).toMatchObject({ status: 'planned', frames: 20, width: 160, height: 160, outWidth: 640, outHeight: 640 });
  });

  it('--max-pixels counts every frame of an animation', async () => {
    const run = await cli(gif, '-m', 'nearest', '--max-pixels', '100', '--dry-run');
    expect(run.stderr.split('\n')[0]).toBe(`${gif}: 4 frames of 8x6 are 192 pixels, over the limit of 100; raise it with --max-pixels if the image is genuine`);
  });

  it('a multi-page TIFF is refused, never cut to its first page', async () => {
    const tiff = join(scratch(), 'pages.tif');
    await sharp(framePixels(2), { raw: { width: WIDTH, height: HEIGHT * 2, channels: 4, pageHeight: HEIGHT } }).tiff().toFile(tiff);
    const run = await cli(tiff, '-o', scratch(), '-m', 'nearest');
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')[0]).toBe(`${tiff}: has 2 pages; multi-page TIFF and HEIF files are not supported (the output would hold only the first): extract the page you want first`);
  });
});
