/**
 * Frame interpolation (--interpolate): the arithmetic table-tested without images; the converted RIFE network against
 * the independent PyTorch reference (fixtures/golden/rife-*); then clips and animations of a moving square, whose
 * every new frame must be nearer the square drawn at the half-way position than either neighbour, with timestamps
 * and delays divided, and a hard cut repeating its frame instead of blending.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFfmpeg } from '../src/files/ffmpeg.js';
import { allocateImage, type Image } from '../src/core/image.js';
import { loadInterpolator, type Interpolator } from '../src/inference/interpolator.js';
import { frameDifference, fromPlanes, isSceneCut, paddedSize, splitDelay, timesteps, toPlanes } from '../src/pixels/frames.js';
import { interpolatedCount } from '../src/run/interpolate.js';
import { cli, fixtures, pixels, psnr, scratch, type Pixels } from './helpers.js';

describe('interpolation arithmetic', () => {
  it.each([
    [2, [0.5]],
    [4, [0.25, 0.5, 0.75]],
  ])('timesteps for n = %i', (n, expected) => expect(timesteps(n)).toEqual(expected));

  it.each([
    // delay, n, step, parts
    [100, 2, 10, [50, 50]],
    [70, 2, 10, [40, 30]],
    [100, 3, 10, [40, 30, 30]],
    [100, 3, 1, [34, 33, 33]],
    [20, 4, 10, [10, 10, 0, 0]],
  ])('a delay of %i ms over %i frames in steps of %i ms', (delay, n, step, parts) => {
    expect(splitDelay(delay, n, step)).toEqual(parts);
    expect(parts.reduce((a, b) => a + b)).toBe(delay);
  });

  it.each([
    // difference, previous, threshold, cut
    [40, 2, 10, true], // a jump: a cut
    [40, 38, 10, false], // steady fast motion: every step alike
    [5, 0, 10, false], // small motion
    [10, 0, 10, true], // at the threshold
    [12, 3, 100, false], // 100 turns detection off in practice
  ])('difference %d after %d at threshold %d: cut %s', (difference, previous, threshold, cut) => {
    expect(isSceneCut(difference, previous, threshold)).toBe(cut);
  });

  it.each([
    [10, 2, true, 20],
    [10, 2, false, 19],
    [1, 4, true, 1],
  ])('%i frames at n = %i (looping %s) become %i', (frames, n, loops, made) => expect(interpolatedCount(frames, n, loops)).toBe(made));

  it('frame difference is the mean absolute difference of the colour samples, in percent, alpha left out', () => {
    const a = allocateImage(2, 1, 4, 8);
    const b = allocateImage(2, 1, 4, 8);
    b.data.set([255, 255, 255, 0, 0, 0, 0, 255]);
    expect(frameDifference(a, b)).toBeCloseTo(50, 10);
  });

  it('planes pad to the alignment with zeros and come back in every layout', () => {
    expect(paddedSize(75, 53, 32)).toEqual({ width: 96, height: 64 });
    for (const channels of [1, 2, 3, 4] as const) {
      const image = allocateImage(3, 2, channels, 8);
      image.data.forEach((_, k) => (image.data[k] = (k * 37) % 256));
      const planes = toPlanes(image, 4);
      expect([planes.width, planes.height, planes.rgb.length]).toEqual([4, 4, 48]);
      expect(planes.rgb[3]).toBe(0); // right of the frame
      expect(planes.alpha !== undefined).toBe(channels % 2 === 0);
      // The network's HWC output of these planes, as the inference process quantises it.
      const hwc = (p: Float32Array) => Uint8Array.from({ length: 48 }, (_, k) => Math.round(p[(k % 3) * 16 + Math.floor(k / 3)]! * 255));
      const back = fromPlanes(hwc(planes.rgb), planes.alpha && hwc(planes.alpha), planes.width, image);
      expect(Array.from(back.data)).toEqual(Array.from(image.data));
    }
  });
});

const golden = (name: string) => join(fixtures, 'golden', name);
const rgbImage = async (path: string): Promise<Image> => {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3, depth: 8 };
};
const asPixels = (image: Image): Pixels => ({ data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), width: image.width, height: image.height, channels: image.channels });

describe('RIFE v4.6 against the independent PyTorch reference (PSNR ≥ 50 dB)', () => {
  let interpolator: Interpolator;
  beforeAll(async () => {
    interpolator = await loadInterpolator('cpu', '--device');
  });
  afterAll(() => interpolator.release());

  it.each([0.5, 0.25])('frame0 → frame1 at t = %d (75x53: padded to 96x64 inside)', async (t) => {
    const [a, b] = [await rgbImage(golden('rife-frame0.png')), await rgbImage(golden('rife-frame1.png'))];
    const made = await interpolator.between(a, b, t);
    const reference = await pixels(golden(`rife-frame0-frame1.t${t}.png`));
    expect(psnr(asPixels(made), reference)).toBeGreaterThanOrEqual(50);
    // The test discriminates: the frames themselves are far from it.
    expect(psnr(asPixels(a), reference)).toBeLessThan(30);
  });

  it('alpha is interpolated by a run of its own: an opaque square moving on a clear ground', async () => {
    const frame = (x: number) => {
      const image = allocateImage(40, 24, 4, 8);
      for (let y = 6; y < 18; y++) for (let k = x; k < x + 12; k++) image.data.set([200, 60, 30, 255], (y * 40 + k) * 4);
      return image;
    };
    const made = await interpolator.between(frame(4), frame(20), 0.5);
    const alpha = (image: Image) => ({ data: Buffer.from(Array.from({ length: 40 * 24 }, (_, p) => image.data[p * 4 + 3]!)), width: 40, height: 24, channels: 1 });
    expect(psnr(alpha(made), alpha(frame(12)))).toBeGreaterThan(psnr(alpha(made), alpha(frame(4))) + 6);
  });
});

const ffmpeg = findFfmpeg(undefined, 'the tests');
function ff(args: string[], input?: Buffer): Buffer {
  const result = spawnSync(ffmpeg, ['-nostdin', '-hide_banner', '-loglevel', 'error', ...args], { input, maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${result.stderr.toString()}`);
  return result.stdout;
}

const W = 96;
const H = 48;
/** A 12x12 square at x on a dark ground; `scene` 1 is another picture (light ground, dark square lower down). */
function square(x: number, scene = 0): Buffer {
  const frame = Buffer.alloc(W * H * 3, scene ? 220 : 16);
  const top = scene ? 28 : 10;
  for (let y = top; y < top + 12; y++) for (let k = Math.round(x); k < Math.round(x) + 12; k++) frame.fill(scene ? 40 : 235, (y * W + k) * 3, (y * W + k) * 3 + 3);
  return frame;
}

/** A 10 fps clip of raw frames, encoded losslessly enough to measure (x264 at qp 0, 4:4:4); `audio`: with a tone as long. */
function clip(path: string, frames: Buffer[], audio = false): void {
  const tone = audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=8000:duration=${frames.length / 10}`, '-c:a', 'aac'] : [];
  ff(['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', '10', '-i', 'pipe:0', ...tone, '-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv444p', '-y', path], Buffer.concat(frames));
}

/** Each audio packet's timestamp, size and checksum (ffmpeg's framecrc of a stream copy). */
const audioPackets = (path: string) => ff(['-i', path, '-map', '0:a', '-c', 'copy', '-f', 'framecrc', 'pipe:1']).toString().split('\n').filter((l) => /^\d/.test(l));

/** Every frame of a video as RGB, and each frame's time in seconds. */
function readVideo(path: string): { frames: Pixels[]; times: number[] } {
  const raw = ff(['-i', path, '-map', '0:v:0', '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  const size = W * H * 3;
  const frames = Array.from({ length: raw.length / size }, (_, k) => ({ data: raw.subarray(k * size, (k + 1) * size), width: W, height: H, channels: 3 }));
  const probe = ff(['-i', path, '-map', '0:v:0', '-vsync', 'passthrough', '-f', 'framecrc', 'pipe:1']).toString();
  const tb = /^#tb 0: (\d+)\/(\d+)$/m.exec(probe)!;
  const times = [...probe.matchAll(/^0,\s*-?\d+,\s*(-?\d+),/gm)].map((m) => (Number(m[1]) * Number(tb[1])) / Number(tb[2]));
  return { frames, times };
}

const view = (data: Buffer): Pixels => ({ data, width: W, height: H, channels: 3 });

describe('--interpolate on videos and animations', () => {
  const dir = scratch();

  it('a 10-frame 10 fps clip of a square moving 8 px a frame becomes 20 frames at 20 fps, each new one nearest the half-way picture; the audio is untouched', async () => {
    const source = join(dir, 'square.mp4');
    clip(source, Array.from({ length: 10 }, (_, k) => square(2 + 8 * k)), true);
    const out = join(dir, 'square-x2.mp4');
    const run = await cli(source, '-o', out, '-m', 'nearest', '-s', '1', '--crf', '0', '--interpolate', '2', '--progress', 'none');
    expect(run.stderr).toMatch(/^1 upscaled in/);
    expect(run.code).toBe(0);
    const { frames, times } = readVideo(out);
    expect(frames).toHaveLength(20);
    times.forEach((t, k) => expect(t).toBeCloseTo(k * 0.05, 6));
    for (let k = 1; k < 19; k += 2) {
      const made = frames[k]!;
      const truth = view(square(2 + 8 * ((k - 1) / 2) + 4));
      const nearest = psnr(made, truth);
      expect(nearest, `frame ${k}`).toBeGreaterThan(psnr(made, frames[k - 1]!) + 3);
      expect(nearest, `frame ${k}`).toBeGreaterThan(psnr(made, frames[k + 1]!) + 3);
    }
    // The last frame holds for its step: a copy.
    expect(psnr(frames[19]!, frames[18]!)).toBeGreaterThan(50);
    // The video still ends at 1 s (the last frame at 0.95 s for 0.05 s), beside its audio, copied packet for packet.
    expect(audioPackets(out)).toEqual(audioPackets(source));
    expect(audioPackets(out).length).toBeGreaterThan(5);
  });

  it('a variable frame rate stays variable: each step is divided by its own length', async () => {
    const source = join(dir, 'vfr.mp4');
    const frames = Buffer.concat(Array.from({ length: 5 }, (_, k) => square(2 + 8 * k)));
    ff(
      [
        ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', '10', '-i', 'pipe:0'],
        ...['-vf', "settb=1/1000,setpts='N*100+if(gte(N,3),50,0)'", '-vsync', 'passthrough', '-enc_time_base:v', '1/1000'],
        ...['-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv444p', '-y', source],
      ],
      frames,
    );
    const times = readVideo(source).times.map((t) => Math.round(t * 1000));
    expect(times.slice(0, 4)).toEqual([0, 100, 200, 350]);
    const out = join(dir, 'vfr-x2.mp4');
    expect((await cli(source, '-o', out, '-m', 'nearest', '-s', '1', '--crf', '0', '--interpolate', '2', '--progress', 'none')).code).toBe(0);
    // Each frame, then the half-way of its own step; the last step's length again after the last frame.
    const steps = times.map((t, k) => [t, (t + (times[k + 1] ?? 2 * t - times[k - 1]!)) / 2]).flat();
    expect(readVideo(out).times.map((t) => Math.round(t * 1000))).toEqual(steps);
    expect(steps.slice(0, 6)).toEqual([0, 50, 100, 150, 200, 275]);
  });

  it('a hard cut shows no blended frame: the frame before it is repeated', async () => {
    const source = join(dir, 'cut.mp4');
    clip(source, Array.from({ length: 8 }, (_, k) => (k < 4 ? square(2 + 8 * k) : square(70 - 8 * (k - 4), 1))));
    const out = join(dir, 'cut-x2.mp4');
    const run = await cli(source, '-o', out, '-m', 'nearest', '-s', '1', '--crf', '0', '--interpolate', '2', '--progress', 'none');
    expect(run.code).toBe(0);
    const { frames } = readVideo(out);
    expect(frames).toHaveLength(16);
    // Frame 7 lies between source frames 3 (scene 0) and 4 (scene 1): it is frame 3 again.
    expect(psnr(frames[7]!, frames[6]!)).toBeGreaterThan(50);
    // Elsewhere frames are made: frame 5 is not a copy of frame 4.
    expect(psnr(frames[5]!, frames[4]!)).toBeLessThan(35);
    // With detection off (threshold 100) the cut is blended.
    const blended = join(dir, 'cut-blended.mp4');
    await cli(source, '-o', blended, '-m', 'nearest', '-s', '1', '--crf', '0', '--interpolate', '2', '--scene-threshold', '100', '--progress', 'none');
    expect(psnr(readVideo(blended).frames[7]!, frames[6]!)).toBeLessThan(35);
  });

  it("an animated GIF's frame count and delays change the same way; a looping one also gets frames from its last back to its first", async () => {
    const source = join(dir, 'square.gif');
    const strip = Buffer.concat(Array.from({ length: 4 }, (_, k) => square(2 + 8 * k)));
    await sharp(strip, { raw: { width: W, height: H * 4, channels: 3, pageHeight: H } }).gif({ delay: [100, 100, 70, 100], loop: 0 }).toFile(source);
    const out = join(dir, 'square-x2.gif');
    const run = await cli(source, '-o', out, '-m', 'nearest', '-s', '1', '--interpolate', '2', '--progress', 'none');
    expect(run.code).toBe(0);
    const meta = await sharp(out).metadata();
    expect(meta.pages).toBe(8);
    expect(meta.delay).toEqual([50, 50, 50, 50, 40, 30, 50, 50]);
    const { data } = await sharp(out, { pages: -1 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const frame = (k: number) => view(data.subarray(k * W * H * 3, (k + 1) * W * H * 3));
    const made = frame(1);
    expect(psnr(made, view(square(6)))).toBeGreaterThan(psnr(made, frame(0)) + 3);
    expect(psnr(made, view(square(6)))).toBeGreaterThan(psnr(made, frame(2)) + 3);
  });

  it('an animation that plays once keeps its last frame alone; the dry run and the report count the frames the output will have', async () => {
    const source = join(dir, 'once.gif');
    const strip = Buffer.concat(Array.from({ length: 4 }, (_, k) => square(2 + 8 * k)));
    await sharp(strip, { raw: { width: W, height: H * 4, channels: 3, pageHeight: H } }).gif({ delay: [100, 100, 100, 100], loop: 1 }).toFile(source);
    expect((await sharp(source).metadata()).loop).toBe(1);
    const out = join(dir, 'once-x2.gif');
    const planned = await cli(source, '-o', out, '-m', 'nearest', '-s', '1', '--interpolate', '2', '--dry-run', '--json');
    expect(JSON.parse(planned.stdout).files[0]).toMatchObject({ status: 'planned', frames: 7 });
    const run = await cli(source, '-o', out, '-m', 'nearest', '-s', '1', '--interpolate', '2', '--json', '--progress', 'none');
    expect(JSON.parse(run.stdout).files[0]).toMatchObject({ status: 'ok', frames: 7 });
    expect(await sharp(out).metadata()).toMatchObject({ pages: 7, delay: [50, 50, 50, 50, 50, 50, 100] });
  });

  it('Ctrl-C while frames are being made: exit 130, no output and no temporary file left', async () => {
    const source = join(dir, 'long.mp4');
    clip(source, Array.from({ length: 40 }, (_, k) => square(2 + 2 * k)));
    const out = scratch();
    const bin = fileURLToPath(new URL('../bin/upscale.js', import.meta.url));
    const child = spawn(process.execPath, [bin, source, '-o', out, '-m', 'nearest', '-s', '1', '--interpolate', '8', '--progress', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Frames are flowing once the first one is written: 8 for each of the 40.
    const until = Date.now() + 30000;
    while (!/"framesDone":2,"framesTotal":320/.test(stderr) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    expect(stderr).toMatch(/"framesDone":2,"framesTotal":320/);
    child.kill('SIGINT');
    expect(await exit, stderr).toBe(130);
    expect(stderr).toContain('"interrupted":true');
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('is checked at the boundary', async () => {
    const run = await cli('x.mp4', '--interpolate', '1');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Expected integer between 2 and 8 for --interpolate but received "1"');
  });
});
