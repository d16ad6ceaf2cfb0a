// Makes docs/int8-worst.png with the tool itself: for each int8 model, its worst held-out image (as the manifest
// names it) upscaled with --precision fp32 (left) and int8 (middle), and their difference ×8 (right), each the
// 192×192 region of the output where they differ most. Run from the repository root after `npm install`:
// node docs/make-int8-picture.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const work = mkdtempSync(join(tmpdir(), 'upscale-int8-picture-'));
const { models } = JSON.parse(readFileSync('models/manifest.json', 'utf8'));
const side = 192;
const gap = 8;
const rows = [];
for (const m of models.filter((m) => m.int8)) {
  const input = join('fixtures/held-out', m.int8.worstImage);
  const out = (precision) => join(work, `${m.name}-${precision}.png`);
  for (const precision of ['fp32', 'int8']) {
    execFileSync('node', ['bin/upscale.js', input, '-m', m.name, '--precision', precision, '--device', 'cpu', '-o', out(precision), '--quiet'], { stdio: 'inherit' });
  }
  const [a, b] = await Promise.all(['fp32', 'int8'].map((p) => sharp(out(p)).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  const { width, height } = a.info;
  const diff = Buffer.alloc(a.data.length);
  for (let i = 0; i < diff.length; i++) diff[i] = Math.min(255, 8 * Math.abs(a.data[i] - b.data[i]));
  // The window with the most difference, on a 16 px grid.
  let best = { left: 0, top: 0, sum: -1 };
  for (let top = 0; top + side <= height; top += 16)
    for (let left = 0; left + side <= width; left += 16) {
      let sum = 0;
      for (let y = top; y < top + side; y += 2) for (let x = left; x < left + side; x += 2) for (let c = 0; c < 3; c++) sum += diff[(y * width + x) * 3 + c];
      if (sum > best.sum) best = { left, top, sum };
    }
  const region = { left: best.left, top: best.top, width: side, height: side };
  const raw = { raw: { width, height, channels: 3 } };
  rows.push(await Promise.all([a.data, b.data, diff].map((data) => sharp(data, raw).extract(region).png().toBuffer())));
}
await sharp({ create: { width: 3 * side + 2 * gap, height: rows.length * side + (rows.length - 1) * gap, channels: 3, background: '#ffffff' } })
  .composite(rows.flatMap((row, r) => row.map((input, k) => ({ input, left: k * (side + gap), top: r * (side + gap) }))))
  .png()
  .toFile('docs/int8-worst.png');
rmSync(work, { recursive: true });
console.log('docs/int8-worst.png written');
