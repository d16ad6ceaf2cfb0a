import { describe, expect, it } from 'vitest';
import { axisWeights, featherFor, planAxis, planTiles, poolSpan, weightSpan, windowToTensor } from '../src/pixels/tile.js';

describe('planAxis', () => {
  it.each([
    // length, tile, overlap, expected windows as [start, size, coreStart, coreEnd]
    { length: 100, tile: 0, overlap: 10, expected: [[0, 100, 0, 100]] },
    { length: 100, tile: 128, overlap: 10, expected: [[0, 100, 0, 100]] },
    { length: 100, tile: 90, overlap: 10, expected: [[0, 100, 0, 100]] }, // window 110 ≥ image: one run
    { length: 100, tile: 40, overlap: 10, expected: [[0, 54, 0, 33], [23, 54, 33, 67], [46, 54, 67, 100]] },
    { length: 200, tile: 90, overlap: 30, expected: [[0, 127, 0, 67], [37, 127, 67, 133], [73, 127, 133, 200]] },
    { length: 17, tile: 16, overlap: 0, expected: [[0, 9, 0, 9], [8, 9, 9, 17]] }, // ragged edge: last window shifted back
    { length: 1024, tile: 656, overlap: 34, expected: [[0, 580, 0, 512], [444, 580, 512, 1024]] }, // windows no larger than the cores need
  ])('splits $length px with tile $tile and overlap $overlap', ({ length, tile, overlap, expected }) => {
    const tiles = planAxis(length, tile, overlap).map((t) => [t.start, t.size, t.coreStart, t.coreEnd]);
    expect(tiles).toEqual(expected);
  });

  it.each([
    [1000, 256, 16],
    [1000, 100, 34],
    [513, 64, 32],
    [65, 16, 8],
    [4096, 512, 0],
    [100, 8, 32],
  ])('%i px, tile %i, overlap %i: fixed-size windows inside the image, cores partition it, each core has its context', (length, tile, overlap) => {
    const tiles = planAxis(length, tile, overlap);
    const size = tiles[0]!.size;
    let expectedCore = 0;
    for (const [i, t] of tiles.entries()) {
      expect(t.size).toBe(size);
      expect(t.start).toBeGreaterThanOrEqual(0);
      expect(t.start + t.size).toBeLessThanOrEqual(length);
      expect(t.coreStart).toBe(expectedCore);
      expect(t.coreEnd - t.coreStart).toBeLessThanOrEqual(tile);
      expectedCore = t.coreEnd;
      // Context: at least the overlap, or everything up to the image border.
      if (i > 0) expect(t.start === 0 || t.coreStart - t.start >= overlap).toBe(true);
      if (i < tiles.length - 1) expect(t.start + t.size === length || t.start + t.size - t.coreEnd >= overlap).toBe(true);
    }
    expect(expectedCore).toBe(length);
  });
});

describe('planAxis with an alignment (strided U-Nets)', () => {
  it.each([
    [1000, 256, 19, 2],
    [513, 64, 16, 4],
    [150, 40, 16, 4],
    [101, 16, 31, 4],
    [97, 20, 19, 2],
  ])('%i px, tile %i, overlap %i, align %i: windows start on the grid, same size, cores partition, context kept', (length, tile, overlap, align) => {
    const tiles = planAxis(length, tile, overlap, align);
    expect(tiles.length).toBeGreaterThan(1);
    let expectedCore = 0;
    for (const [i, t] of tiles.entries()) {
      expect(t.start % align).toBe(0);
      expect(t.size).toBe(tiles[0]!.size);
      expect(t.start + t.size).toBeLessThanOrEqual(length);
      expect(t.coreStart).toBe(expectedCore);
      expectedCore = t.coreEnd;
      if (i > 0) expect(t.start === 0 || t.coreStart - t.start >= overlap).toBe(true);
      if (i < tiles.length - 1) expect(t.start + t.size === length || t.start + t.size - t.coreEnd >= overlap).toBe(true);
    }
    expect(expectedCore).toBe(length);
    // Alignment costs at most align − 1 pixels of window beyond the unaligned plan (plus rounding to the length's parity).
    expect(tiles[0]!.size - planAxis(length, tile, overlap)[0]!.size).toBeLessThan(2 * align);
  });

  it('one window over the whole axis when the aligned window would reach it', () => {
    expect(planAxis(60, 20, 19, 2)).toEqual([{ start: 0, size: 60, coreStart: 0, coreEnd: 60 }]);
  });
});

describe('poolSpan', () => {
  it.each([
    { scale: 0.5, offset: -11.5 },
    { scale: 1, offset: -0.5 },
    { scale: 0.75, offset: -1.833333333 },
    { scale: 1.5, offset: -4.833333333 },
  ])('the tiles own disjoint parts of a pooled map (scale $scale, offset $offset) that cover it whole', (pool) => {
    const length = 150;
    const tiles = planAxis(length, 40, 16, 4);
    // The whole image's map: pixel j at input pixel j / scale + offset, from the padded margin before 0 to past the end.
    const mapLength = Math.floor((length + 2 * 16) * pool.scale);
    const owner = new Int32Array(mapLength).fill(-1);
    tiles.forEach((t, i) => {
      const [from, to] = poolSpan(tiles, i, pool);
      const origin = t.start * pool.scale;
      expect(Number.isInteger(origin)).toBe(true);
      for (let j = origin + from; j < Math.min(mapLength, origin + to); j++) {
        expect(owner[j]).toBe(-1);
        owner[j] = i;
        // A pixel a tile owns sits in its core, or beyond the image at the first and last tile.
        const x = j / pool.scale + pool.offset;
        if (i > 0) expect(x).toBeGreaterThanOrEqual(t.coreStart);
        if (i < tiles.length - 1) expect(x).toBeLessThan(t.coreEnd);
      }
    });
    expect(owner.every((o) => o >= 0)).toBe(true);
  });
});

describe('featherFor', () => {
  it.each([
    [34, 34, 0], // overlap equals the receptive field: hard cut, exact
    [50, 34, 16], // spare overlap becomes fade, still inside the exact zone
    [32, 349, 16], // RRDB sees further than any overlap: fade over the outer half
    [0, 10, 0],
  ])('overlap %i, receptive radius %i → %i', (overlap, radius, feather) => {
    expect(featherFor(overlap, radius)).toBe(feather);
  });
});

describe('axisWeights', () => {
  it.each([
    [100, 40, 10, 1, 4],
    [100, 40, 10, 6, 4],
    [300, 64, 32, 16, 2],
    [37, 16, 4, 2, 3],
  ])('length %i tile %i overlap %i feather %i scale %i: weights sum to 1 at every output pixel', (length, tile, overlap, feather, scale) => {
    const tiles = planAxis(length, tile, overlap);
    const sum = new Float64Array(length * scale);
    tiles.forEach((t, i) => {
      const w = axisWeights(tiles, i, scale, feather);
      w.forEach((v, j) => (sum[t.start * scale + j]! += v));
      const span = weightSpan(tiles, i, scale, feather);
      w.forEach((v, j) => {
        const x = t.start * scale + j;
        if (x < span.from || x >= span.to) expect(v).toBe(0);
      });
    });
    for (const s of sum) expect(s).toBeCloseTo(1, 6);
  });

  it('is a hard step at the core boundary when the feather is 0', () => {
    const tiles = planAxis(100, 40, 10);
    const w = axisWeights(tiles, 1, 1, 0);
    const start = tiles[1]!.start;
    expect(w[tiles[1]!.coreStart - start - 1]).toBe(0);
    expect(w[tiles[1]!.coreStart - start]).toBe(1);
    expect(w[tiles[1]!.coreEnd - start - 1]).toBe(1);
    expect(w[tiles[1]!.coreEnd - start]).toBe(0);
  });

  it('ramps linearly across the fade', () => {
    const tiles = planAxis(100, 40, 10);
    const w = axisWeights(tiles, 1, 1, 4);
    const at = (x: number) => w[x - tiles[1]!.start]!;
    const boundary = tiles[1]!.coreStart;
    expect([at(boundary - 5), at(boundary - 4), at(boundary - 1), at(boundary), at(boundary + 3), at(boundary + 4)]).toEqual([
      0, 0.0625, 0.4375, 0.5625, 0.9375, 1,
    ]);
  });
});

describe('planTiles', () => {
  it('keeps fades from meeting inside small cores', () => {
    // 13 cores of 7-8 px; the RRDB-style fade would be 8 px each side, so it is cut to 3.
    const plan = planTiles(100, 100, 8, 16, 100);
    expect(plan.columns).toHaveLength(13);
    expect(plan.feather).toBe(3);
  });
});

describe('windowToTensor', () => {
  it('copies a window to planar RGB in [0, 1], replicating grey', () => {
    const rgb = { data: new Uint8Array([0, 51, 102, 153, 204, 255, 255, 0, 0, 0, 255, 0]), width: 2, height: 2, channels: 3 as const, depth: 8 as const };
    const tensor = windowToTensor(rgb, { start: 1, size: 1, coreStart: 1, coreEnd: 2 }, { start: 0, size: 2, coreStart: 0, coreEnd: 2 });
    expect(Array.from(tensor, (v) => Math.round(v * 255))).toEqual([153, 0, 204, 255, 255, 0]);
    const grey = { data: new Uint16Array([0, 65535]), width: 2, height: 1, channels: 1 as const, depth: 16 as const };
    expect(Array.from(windowToTensor(grey, { start: 0, size: 2, coreStart: 0, coreEnd: 2 }, { start: 0, size: 1, coreStart: 0, coreEnd: 1 }))).toEqual([0, 1, 0, 1, 0, 1]);
  });
});
