// Makes docs/interpolate.png with the tool itself: a two-frame clip (a window over the CC0 chelsea photo that pans
// 16 px right and 8 px down between the frames) through `--interpolate 2`; the picture shows frame 0, the frame the
// tool made half-way, and frame 1, side by side. Run from the repository root after `npm install`:
// node docs/make-interpolate-picture.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { findFfmpeg } from '../dist/files/ffmpeg.js';

const ffmpeg = findFfmpeg(undefined, 'docs/make-interpolate-picture.mjs');
const work = mkdtempSync(join(tmpdir(), 'upscale-interpolate-picture-'));
const [width, height] = [192, 144];
const photo = 'fixtures/photos/chelsea.png';
const frames = await Promise.all([[40, 30], [56, 38]].map(([left, top]) => sharp(photo).removeAlpha().extract({ left, top, width, height }).raw().toBuffer()));
const clip = join(work, 'pan.mp4');
const run = (args, input) => execFileSync(ffmpeg, ['-nostdin', '-loglevel', 'error', ...args], { input, maxBuffer: 1 << 26 });
run(['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', '5', '-i', 'pipe:0', '-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv444p', clip], Buffer.concat(frames));
const out = join(work, 'pan-x2.mp4');
execFileSync('node', ['bin/upscale.js', clip, '-o', out, '-m', 'nearest', '-s', '2', '--crf', '0', '--interpolate', '2', '--quiet'], { stdio: 'inherit' });
const raw = run(['-i', out, '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
const size = 2 * width * 2 * height * 3;
const gap = 8;
const shown = await Promise.all([0, 1, 2].map((k) => sharp(raw.subarray(k * size, (k + 1) * size), { raw: { width: 2 * width, height: 2 * height, channels: 3 } }).png().toBuffer()));
await sharp({ create: { width: 3 * 2 * width + 2 * gap, height: 2 * height, channels: 3, background: '#ffffff' } })
  .composite(shown.map((input, k) => ({ input, left: k * (2 * width + gap), top: 0 })))
  .png()
  .toFile('docs/interpolate.png');
rmSync(work, { recursive: true });
console.log('docs/interpolate.png written');
