import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resample } from '../src/pixels/resample.js';
import { fixtures, pixels, psnr } from './helpers.js';

const source = join(fixtures, 'baseline', 'cat-48x32.png');

async function load() {
  const p = await pixels(source);
  return { data: new Uint8Array(p.data), width: p.width, height: p.height, channels: p.channels as 3, depth: 8 as const };
}

describe('baseline interpolation', () => {
  it.each([2, 3, 2.5])('bilinear and bicubic ×%s match Pillow’s centre-aligned definitions (≥ 50 dB)', async (scale) => {
    const image = await load();
    for (const method of ['bilinear', 'bicubic'] as const) {
      const ours = resample(image, Math.round(48 * scale), Math.round(32 * scale), method);
      const reference = await pixels(join(fixtures, 'baseline', `cat-48x32.${method}-x${scale}.pil.png`));
      const db = psnr({ ...ours, data: Buffer.from(ours.data) }, reference);
      expect(db, `${method} x${scale}`).toBeGreaterThanOrEqual(50);
    }
  });

  it('the test discriminates: bilinear output is far from Pillow’s bicubic', async () => {
    const image = await load();
    const bilinear = resample(image, 96, 64, 'bilinear');
    const reference = await pixels(join(fixtures, 'baseline', 'cat-48x32.bicubic-x2.pil.png'));
    expect(psnr({ ...bilinear, data: Buffer.from(bilinear.data) }, reference)).toBeLessThan(45);
  });

  it('nearest at an integer scale is exact pixel replication', async () => {
    const image = await load();
    const out = resample(image, 48 * 3, 32 * 3, 'nearest');
    for (let y = 0; y < out.height; y++)
      for (let x = 0; x < out.width; x++)
        for (let c = 0; c < 3; c++) {
          if (out.data[(y * out.width + x) * 3 + c] !== image.data[(Math.floor(y / 3) * 48 + Math.floor(x / 3)) * 3 + c]) {
            throw new Error(`pixel ${x},${y} differs`);
          }
        }
  });

  it('keeps 16-bit samples and a constant image constant', () => {
    const flat = { data: new Uint16Array(4 * 4).fill(40000), width: 4, height: 4, channels: 1 as const, depth: 16 as const };
    const out = resample(flat, 10, 7, 'bicubic');
    expect(out.depth).toBe(16);
    expect(new Set(out.data)).toEqual(new Set([40000]));
  });
});
