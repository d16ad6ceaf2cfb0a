/**
 * Fuzz: hundreds of damaged images (bit flips, truncations, header edits) through the CLI in one batch. None may
 * crash or hang the tool; each must end as a valid output image or one clean error line naming the file.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cli, fixtures, scratch } from './helpers.js';

/** Small deterministic PRNG (mulberry32), so a failure can be reproduced from its seed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MUTANTS_PER_SOURCE = Number(process.env.UPSCALE_FUZZ_COUNT ?? 100);

async function sources(): Promise<Record<string, Buffer>> {
  const cat = join(fixtures, 'images', 'cat.png');
  return {
    'png': readFileSync(cat),
    'jpg': readFileSync(join(fixtures, 'images', 'cat-p3.jpg')),
    'grey.png': readFileSync(join(fixtures, 'images', 'camera-grey.png')),
    '16.png': readFileSync(join(fixtures, 'images', 'coffee-16bit.png')),
    'webp': await sharp(cat).webp().toBuffer(),
    'tif': await sharp(cat).tiff({ compression: 'lzw' }).toBuffer(),
    'gif': await sharp(cat).gif().toBuffer(),
  };
}

function mutate(original: Buffer, next: () => number): Buffer {
  const bytes = Buffer.from(original);
  const pick = (n: number) => Math.floor(next() * n);
  switch (pick(4)) {
    case 0: // flip a few bits anywhere
      for (let i = pick(8) + 1; i > 0; i--) bytes[pick(bytes.length)]! ^= 1 << pick(8);
      return bytes;
    case 1: // truncate
      return bytes.subarray(0, pick(bytes.length));
    case 2: // scribble over the header, where sizes and formats live
      for (let i = pick(6) + 1; i > 0; i--) bytes[pick(Math.min(64, bytes.length))] = pick(256);
      return bytes;
    default: // zero a run of bytes
      bytes.fill(0, pick(bytes.length), pick(bytes.length));
      return bytes;
  }
}

describe('fuzz', () => {
  it(`${MUTANTS_PER_SOURCE} damaged copies of each of 7 formats: no crash, no hang, valid image or clean error`, { timeout: 170_000 }, async () => {
    const folder = scratch();
    const out = scratch();
    mkdirSync(join(folder, 'in'));
    const next = random(20261125);
    const made: string[] = [];
    for (const [ext, original] of Object.entries(await sources())) {
      for (let i = 0; i < MUTANTS_PER_SOURCE; i++) {
        const name = `m${String(i).padStart(3, '0')}-${ext.replace('.', '-')}.${ext.split('.').pop()}`;
        writeFileSync(join(folder, 'in', name), mutate(original, next));
        made.push(name);
      }
    }
    const run = await cli(join(folder, 'in'), '-o', out, '-m', 'nearest', '-s', '2', '-f', 'png', '--max-pixels', '4000000', '--json');
    expect([0, 1]).toContain(run.code);
    const report = JSON.parse(run.stdout) as { files: { input: string; output: string; status: string; error?: string; outWidth?: number; outHeight?: number }[] };
    expect(report.files).toHaveLength(made.length);
    let ok = 0;
    for (const file of report.files) {
      if (file.status === 'ok') {
        ok++;
        const meta = await sharp(file.output).metadata();
        expect([meta.width, meta.height], file.input).toEqual([file.outWidth, file.outHeight]);
      } else {
        expect(file.status, file.input).toBe('error');
        expect(file.error!.startsWith(`${file.input}: `), file.error).toBe(true);
        expect(file.error, file.input).not.toMatch(/\n|internal error|    at /);
      }
    }
    // The damage must leave some images readable, or this test would only exercise the error path.
    expect(ok).toBeGreaterThan(made.length / 10);
    expect(ok).toBeLessThan(made.length);
    expect(run.stderr).not.toMatch(/internal error|    at /);
  });
});
