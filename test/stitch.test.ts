import { describe, expect, it } from 'vitest';
import { Stitcher } from '../src/pixels/stitch.js';
import { planTiles, type TilePlan } from '../src/pixels/tile.js';
import type { Image } from '../src/core/image.js';

/** A deterministic pseudo-random RGB picture (HWC) with samples of the given depth; R = G = B when `grey`. */
function picture(width: number, height: number, depth: 8 | 16, grey: boolean): Image['data'] {
  const data = depth === 8 ? new Uint8Array(width * height * 3) : new Uint16Array(width * height * 3);
  let seed = 12345;
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      if (c === 0 || !grey) seed = (seed * 1103515245 + 12345) >>> 0;
      data[p * 3 + c] = (seed >>> 8) % (depth === 8 ? 256 : 65536);
    }
  }
  return data;
}

/** What a network would return for each window if it agreed with `truth` everywhere: the window cut out of it. */
function cut(truth: Image['data'], truthWidth: number, plan: TilePlan, r: number, c: number, scale: number): Image['data'] {
  const column = plan.columns[c]!;
  const row = plan.rows[r]!;
  const width = column.size * scale;
  const height = row.size * scale;
  const tile = truth instanceof Uint8Array ? new Uint8Array(width * height * 3) : new Uint16Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((row.start * scale + y) * truthWidth + column.start * scale) * 3;
    tile.set(truth.subarray(from, from + width * 3), y * width * 3);
  }
  return tile;
}

function stitchAll(plan: TilePlan, width: number, height: number, scale: number, channels: 1 | 3, depth: 8 | 16, tileFor: (r: number, c: number) => Image['data']) {
  const stitcher = new Stitcher(plan, scale, width, height, channels, depth);
  for (let r = 0; r < plan.rows.length; r++) {
    for (let c = 0; c < plan.columns.length; c++) stitcher.add(r, c, tileFor(r, c));
    stitcher.finishRow(r);
  }
  return stitcher.output;
}

describe('Stitcher', () => {
  it.each([
    // width, height, tile, overlap, receptive radius, scale: exact overlap (no fades), feathered, ragged, one tile
    { width: 37, height: 23, tile: 10, overlap: 4, radius: 4, scale: 2 },
    { width: 37, height: 23, tile: 10, overlap: 4, radius: 2, scale: 2 },
    { width: 40, height: 41, tile: 16, overlap: 6, radius: Infinity, scale: 4 },
    { width: 50, height: 9, tile: 7, overlap: 8, radius: Infinity, scale: 3 },
    { width: 20, height: 9, tile: 0, overlap: 8, radius: 8, scale: 4 },
    { width: 12, height: 12, tile: 64, overlap: 8, radius: 8, scale: 2 },
  ])('reassembles $width×$height exactly from agreeing tiles (tile $tile, overlap $overlap, radius $radius, ×$scale)', ({ width, height, tile, overlap, radius, scale }) => {
    const plan = planTiles(width, height, tile, overlap, radius);
    for (const depth of [8, 16] as const) {
      for (const channels of [3, 1] as const) {
        const truth = picture(width * scale, height * scale, depth, channels === 1);
        const output = stitchAll(plan, width, height, scale, channels, depth, (r, c) => cut(truth, width * scale, plan, r, c, scale));
        const expected = Array.from({ length: width * scale * height * scale * channels }, (_, i) => truth[channels === 3 ? i : i * 3]!);
        expect({ depth, channels, width: output.width, height: output.height }).toEqual({ depth, channels, width: width * scale, height: height * scale });
        // A count rather than the arrays: a failure then reports at once instead of diffing thousands of samples.
        const wrong = expected.filter((value, i) => output.data[i] !== value).length;
        expect({ depth, channels, wrong }).toEqual({ depth, channels, wrong: 0 });
      }
    }
  });

  it('cross-fades linearly where neighbouring tiles disagree, and only there', () => {
    // Two columns; the left tile says 0 everywhere, the right one 65535. Feather 2 px at ×2: an 8 px fade.
    const plan = planTiles(40, 4, 20, 4, Infinity);
    expect(plan.columns).toHaveLength(2);
    expect(plan.feather).toBe(2);
    const size = plan.columns[0]!.size * 2 * plan.rows[0]!.size * 2 * 3;
    const output = stitchAll(plan, 40, 4, 2, 3, 16, (_, c) => new Uint16Array(size).fill(c === 0 ? 0 : 65535));
    const row = Array.from({ length: 80 }, (_, x) => output.data[x * 3]!);
    // Core boundary at output x = 40; the fade spans [36, 44).
    expect(row.slice(0, 36).every((v) => v === 0)).toBe(true);
    expect(row.slice(44).every((v) => v === 65535)).toBe(true);
    const fade = row.slice(36, 44);
    expect(fade.map((v, i) => Math.abs(v - ((i + 0.5) / 8) * 65535) <= 1)).toEqual(Array(8).fill(true));
  });
});
