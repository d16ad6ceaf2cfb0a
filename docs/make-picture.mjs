// Makes the README's pictures with the tool itself: docs/before-after.jpg, the same crop enlarged 4x by bicubic (left)
// and by realesr-general-x4v3 (right), docs/editing.jpg, docs/animated.webp and docs/strength.jpg. Run from the
// repository root after `npm install`: node docs/make-picture.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const work = mkdtempSync(join(tmpdir(), 'upscale-picture-'));
const input = 'fixtures/golden/chelsea-96.png';
for (const model of ['bicubic', 'realesr-general-x4v3']) {
  execFileSync('node', ['bin/upscale.js', input, '-m', model, '-o', join(work, `${model}.png`), '--quiet'], { stdio: 'inherit' });
}
const left = await sharp(join(work, 'bicubic.png')).toBuffer();
const right = await sharp(join(work, 'realesr-general-x4v3.png')).toBuffer();
await sharp({ create: { width: 384 * 2 + 8, height: 384, channels: 3, background: '#ffffff' } })
  .composite([
    { input: left, left: 0, top: 0 },
    { input: right, left: 384 + 8, top: 0 },
  ])
  .jpeg({ quality: 92 })
  .toFile('docs/before-after.jpg');

// docs/logo.png, a small logo to watermark with, and docs/editing.jpg: the README's "Editing the result" example.
const logo = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="80"><rect x="2" y="2" width="196" height="76" rx="16" fill="#1e3a8a" stroke="#ffffff" stroke-width="4"/>'
  + '<text x="100" y="54" font-family="sans-serif" font-size="40" font-weight="bold" fill="#ffffff" text-anchor="middle">upscale</text></svg>';
await sharp(Buffer.from(logo)).png().toFile('docs/logo.png');
execFileSync('node', ['bin/upscale.js', input, '-o', 'docs/editing.jpg', '--overwrite', '--quiet', '--crop', '0,64,384,256', '--saturation', '1.3',
  '--contrast', '1.15', '--sharpen', '--watermark', 'docs/logo.png', '--watermark-opacity', '0.8', '--watermark-scale', '0.3',
  '--annotate', 'Chelsea, 4x', '-q', '90'], { stdio: 'inherit' });
console.log('wrote docs/before-after.jpg and docs/editing.jpg');

// docs/animated.webp, the README's animation example: a 64x64 view panning across the photo, 8 frames (a small
// animated GIF, as a sticker or emote would be), upscaled 4x with realesr-animevideov3 into an animated WebP.
const frames = [];
for (let k = 0; k < 8; k++) frames.push(await sharp(input).extract({ left: 4 * k, top: 16, width: 64, height: 64 }).ensureAlpha().raw().toBuffer());
const pan = join(work, 'pan.gif');
await sharp(Buffer.concat(frames), { raw: { width: 64, height: 64 * 8, channels: 4, pageHeight: 64 } }).gif({ delay: Array(8).fill(120), loop: 0 }).toFile(pan);
execFileSync('node', ['bin/upscale.js', pan, '-m', 'realesr-animevideov3', '-o', 'docs/animated.webp', '--overwrite', '--quiet'], { stdio: 'inherit' });
console.log('wrote docs/animated.webp');

// docs/strength.jpg: --strength 1 (the model alone), 0.5 and 0 (a lanczos enlargement of the input), 4x.
const strengths = ['1', '0.5', '0'];
for (const strength of strengths) {
  execFileSync('node', ['bin/upscale.js', 'fixtures/golden/chelsea-64.png', '--strength', strength, '-o', join(work, `strength-${strength}.png`), '--quiet'], { stdio: 'inherit' });
}
await sharp({ create: { width: 256 * 3 + 16, height: 256, channels: 3, background: '#ffffff' } })
  .composite(strengths.map((strength, i) => ({ input: join(work, `strength-${strength}.png`), left: i * (256 + 8), top: 0 })))
  .jpeg({ quality: 92 })
  .toFile('docs/strength.jpg');
console.log('wrote docs/strength.jpg');
rmSync(work, { recursive: true, force: true });
