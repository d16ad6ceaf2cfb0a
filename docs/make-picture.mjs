// Makes docs/before-after.jpg with the tool itself: the same crop enlarged 4x by bicubic (left) and by
// realesr-general-x4v3 (right). Run from the repository root after `npm install`: node docs/make-picture.mjs
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
rmSync(work, { recursive: true, force: true });
console.log('wrote docs/before-after.jpg');
