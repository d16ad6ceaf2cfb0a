/**
 * Real-CUGAN and waifu2x CUNet through the tool: the variant --model and --noise pick, the goldens of the
 * independent reference reached end to end, and tiles that agree with the whole image although every tile's
 * squeeze-and-excitation blocks would otherwise average only their own window.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { findModel, resolveRun, type ModelName } from '../src/models/catalog.js';
import { planImage } from '../src/run/image-plan.js';
import { upscale } from '../src/index.js';
import { cli, fixtures, pixels, psnr, scratch } from './helpers.js';

const out = scratch();
const golden = (name: string) => join(fixtures, 'golden', name);
const crop = golden('chelsea-57x46.png');

describe('--model realcugan / waifu2x-cunet with --noise', () => {
  it.each([
    // flags → the variant that runs
    [['-m', 'realcugan'], 'realcugan-x4-conservative'],
    [['-m', 'realcugan', '-s', '2'], 'realcugan-x2-conservative'],
    [['-m', 'realcugan', '-s', '2', '--noise', '1'], 'realcugan-x2-denoise1x'],
    [['-m', 'realcugan', '-s', '3', '--noise', '0'], 'realcugan-x3-no-denoise'],
    [['-m', 'realcugan', '-s', '4', '--noise', 'Conservative'], 'realcugan-x4-conservative'],
    [['-m', 'waifu2x-cunet'], 'waifu2x-cunet-x2-noise0'],
    [['-m', 'waifu2x-cunet', '-s', '1', '--noise', '3'], 'waifu2x-cunet-x1-noise3'],
    [['-m', 'realcugan-x2-denoise2x', '--noise', '2'], 'realcugan-x2-denoise2x'],
  ])('%j runs %s', async (flags, variant) => {
    const run = await cli(crop, ...flags, '--dry-run', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).summary.model).toBe(variant);
  });

  it.each([
    [['-m', 'realcugan', '-s', '3', '--noise', '1'], 'upscale: realcugan has no --noise 1 at x3; it offers x2: conservative, 0, 1, 2, 3; x3: conservative, 0, 3; x4: conservative, 0, 3 (choose a level and a scale that go together)'],
    [['-m', 'waifu2x-cunet', '--noise', 'conservative'], 'upscale: waifu2x-cunet has no --noise conservative at x2; it offers x1: 0, 1, 2, 3; x2: 0, 1, 2, 3 (choose a level and a scale that go together)'],
    [['-m', 'realcugan-x2-denoise1x', '--noise', '2'], 'upscale: realcugan-x2-denoise1x has no --noise 2 at x2; it offers x2: 1 (choose a level and a scale that go together)'],
    [['--noise', '1'], 'upscale: --noise picks a denoise level of realcugan or waifu2x-cunet; realesr-general-x4v3 has none: leave --noise out, or use one of those models'],
    [['-m', 'bicubic', '--noise', '0'], 'upscale: --noise picks a denoise level of realcugan or waifu2x-cunet; bicubic has none: leave --noise out, or use one of those models'],
    [['-m', 'realcugan', '--noise', '4'], 'upscale: Expected 0, 1, 2, 3 or conservative for --noise but received "4"'],
  ])('%j is a usage error listing what exists', async (flags, message) => {
    const run = await cli(crop, '-o', join(out, 'never.png'), ...flags);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(message);
  });

  it('names the option as a library caller spells it', async () => {
    await expect(upscale(crop, { model: 'realcugan', scale: 3, noise: 2, output: join(out, 'never.png') })).rejects.toThrow(
      'realcugan has no noise 2 at x3; it offers x2: conservative, 0, 1, 2, 3; x3: conservative, 0, 3; x4: conservative, 0, 3 (choose a level and a scale that go together)',
    );
  });
});

describe('end to end against the independent reference (≥ 50 dB)', () => {
  it.each([
    ['realcugan', '4', 'conservative', 'realcugan-x4-conservative'],
    ['realcugan', '3', '3', 'realcugan-x3-denoise3x'],
    ['waifu2x-cunet', '1', '2', 'waifu2x-cunet-x1-noise2'],
  ] as const satisfies ReadonlyArray<readonly [ModelName, string, string, string]>)('-m %s -s %s --noise %s', async (model, scale, noise, variant) => {
    const target = join(out, `${variant}.png`);
    const report = await upscale(crop, { model, scale, noise, output: target, device: 'cpu' });
    expect(report.summary.model).toBe(variant);
    expect(psnr(await pixels(target), await pixels(golden(`chelsea-57x46.${variant}.png`)))).toBeGreaterThanOrEqual(50);
  });
});

describe('tiles agree with the whole image', () => {
  it('plans aligned windows, and a first run over the tiles for the squeeze-and-excitation means', () => {
    const run = resolveRun(findModel('realcugan')!, 3);
    if (run.kind !== 'network') throw new Error('a network run');
    const plan = planImage({ width: 150, height: 90, channels: 3, depth: 8, alpha: false }, run, { tile: 40, memory: 2048, imagesInFlight: 1 });
    const { columns, rows } = plan.passes[0]!.tiles;
    // ×3 computes its pixel grid in steps of 4 input pixels; 16 px of context.
    expect([...columns, ...rows].every((t) => t.start % 4 === 0 && t.coreStart - t.start >= 16 || t.start === 0)).toBe(true);
    expect(plan.passes[0]!.gather).toHaveLength(4);
    expect(plan.tilesTotal).toBe(2 * columns.length * rows.length);
    // One window over the whole image needs no first run.
    expect(planImage({ width: 150, height: 90, channels: 3, depth: 8, alpha: false }, run, { tile: 0, memory: 2048, imagesInFlight: 1 }).passes[0]!.gather).toBeUndefined();
  });

  // Measured on this 72×40 strip: tiles keeping their own means (what each tile would compute alone) score 44.7 dB
  // against the whole image; with the gathered means, 50.9 dB. Five windows around 16 px cores: smaller tiles than a
  // memory budget would choose, where a tile's own means stray furthest (32 px tiles on a 96 px square: 46.9 and
  // 51.4 dB).
  it('Real-CUGAN ×2 with 16 px tiles: ≥ 45 dB against the whole image', { timeout: 60_000 }, async () => {
    const source = join(out, 'strip.png');
    await sharp(golden('chelsea-96.png')).extract({ left: 16, top: 28, width: 72, height: 40 }).png().toFile(source);
    const whole = join(out, 'whole.png');
    const tiled = join(out, 'tiled.png');
    await upscale(source, { model: 'realcugan', scale: 2, tile: 0, output: whole, device: 'cpu' });
    const totals: number[] = [];
    await upscale(source, { model: 'realcugan', scale: 2, tile: 16, output: tiled, device: 'cpu', onEvent: (e) => e.type === 'start' && totals.push(e.tilesTotal) });
    // Five windows across, one down, each run twice: once for the means, once for the pixels.
    expect(totals[0]).toBe(2 * 5);
    expect(psnr(await pixels(tiled), await pixels(whole))).toBeGreaterThanOrEqual(45);
  });
});
