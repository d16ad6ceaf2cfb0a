/**
 * Tiling maths: where each window sits, which part of it each tile owns, and how neighbours blend.
 * Pure functions of sizes; no pixels here apart from the tensor copy at the end.
 */
import type { Image } from '../core/image.js';

/** One tile along one axis, in input pixels. */
export interface AxisTile {
  /** First pixel of the window the network sees. */
  start: number;
  /** Window length; the same for every tile of an axis, so one input shape serves a whole image. */
  size: number;
  /** The span this tile owns outright: [coreStart, coreEnd). Cores partition the axis. */
  coreStart: number;
  coreEnd: number;
}

export interface TilePlan {
  columns: AxisTile[];
  rows: AxisTile[];
  /** Half-width of the linear cross-fade around each core boundary, in input pixels. */
  feather: number;
}

/**
 * Splits one axis into windows of a fixed size that stay inside the image: the image border is never padded,
 * so the network's own padding there matches whole-image inference. `tile` is the core edge and `overlap`
 * the context added on each side; `tile` 0 means one window over the whole axis. Windows start at multiples of
 * `align` (a strided network computes another pixel grid elsewhere), which can cost them align − 1 pixels more.
 */
export function planAxis(length: number, tile: number, overlap: number, align = 1): AxisTile[] {
  const whole = [{ start: 0, size: length, coreStart: 0, coreEnd: length }];
  if (tile === 0 || tile + 2 * overlap >= length) return whole;
  const count = Math.ceil(length / tile);
  // Windows only as large as the evenly split cores need: a tile of 656 on 1024 px gives two 512 px cores in
  // 580 px windows, not two 724 px windows that overlap by 424.
  let size = Math.ceil(length / count) + 2 * overlap + align - 1;
  // The last window ends at the image's end, so it starts aligned only if the size is the length's, modulo align.
  size += (((length - size) % align) + align) % align;
  if (size >= length) return whole;
  const boundaries = Array.from({ length: count + 1 }, (_, i) => Math.round((i * length) / count));
  return boundaries.slice(0, -1).map((coreStart, i) => {
    const coreEnd = boundaries[i + 1]!;
    // Centre the core in its window; windows at the border are shifted back inside, gaining context.
    const start = Math.min(Math.floor(Math.max(coreStart - overlap, 0) / align) * align, length - size);
    return { start, size, coreStart, coreEnd };
  });
}

/**
 * Cross-fade half-width. When the overlap covers the receptive-field radius, every pixel of a window further than
 * that radius from the window's edge is exact, so the fade stays inside that exact zone and tiled output equals
 * whole-image output. When the network sees further than the overlap (RRDB), the fade takes the outer half of the
 * overlap to hide what cannot be made exact.
 */
export function featherFor(overlap: number, receptiveRadius: number): number {
  return receptiveRadius <= overlap ? overlap - receptiveRadius : Math.floor(overlap / 2);
}

export function planTiles(width: number, height: number, tile: number, overlap: number, receptiveRadius: number, align = 1): TilePlan {
  const columns = planAxis(width, tile, overlap, align);
  const rows = planAxis(height, tile, overlap, align);
  // Fades of neighbouring boundaries must not meet inside one core.
  const smallestCore = Math.min(...[...columns, ...rows].map((t) => t.coreEnd - t.coreStart));
  const feather = Math.min(featherFor(overlap, receptiveRadius), Math.floor(smallestCore / 2));
  return { columns, rows, feather };
}

/**
 * Blend weights of one tile along one axis, for each output pixel of its window (window length × scale).
 * Neighbouring tiles' weights sum to exactly 1 at every pixel; outside the fades a tile owns its core with weight 1.
 */
export function axisWeights(tiles: readonly AxisTile[], index: number, scale: number, feather: number): Float32Array {
  const tile = tiles[index]!;
  const weights = new Float32Array(tile.size * scale);
  const fade = 2 * feather * scale;
  const origin = tile.start * scale;
  for (let i = 0; i < weights.length; i++) {
    const centre = origin + i + 0.5;
    const rising = index === 0 ? 1 : ramp(centre, tile.coreStart * scale, fade);
    const falling = index === tiles.length - 1 ? 1 : 1 - ramp(centre, tile.coreEnd * scale, fade);
    weights[i] = rising * falling;
  }
  return weights;
}

/** 0 before the fade around `boundary`, 1 after it, linear across it; a hard step when the fade is empty. */
function ramp(position: number, boundary: number, fade: number): number {
  if (fade === 0) return position >= boundary ? 1 : 0;
  return Math.min(1, Math.max(0, (position - (boundary - fade / 2)) / fade));
}

/** First and last+1 output pixel where a tile's weight is non-zero along an axis. */
export function weightSpan(tiles: readonly AxisTile[], index: number, scale: number, feather: number): { from: number; to: number } {
  const tile = tiles[index]!;
  const from = index === 0 ? 0 : (tile.coreStart - feather) * scale;
  const to = index === tiles.length - 1 ? (tile.start + tile.size) * scale : (tile.coreEnd + feather) * scale;
  return { from, to };
}

/** Where a global pooling's feature map lies: its pixel j sits at input pixel j / scale + offset (ManifestEntry.pools). */
export interface PoolPlacement {
  scale: number;
  offset: number;
}

/**
 * The pixels [from, to) of a pool's feature map, along one axis and counted in the tile's window, that tile `index`
 * owns: those sitting in its core, and for the first and last tiles the margins beyond the image too. The tiles'
 * shares partition the whole image's feature map, so their sums add up to its mean: whatever falls in a core is
 * computed in that tile's window as in the whole image (the overlap covers the pool's reach). `to` may run past the
 * window's map: the network clamps it.
 */
export function poolSpan(tiles: readonly AxisTile[], index: number, pool: PoolPlacement): [number, number] {
  const tile = tiles[index]!;
  // The first pixel at or after input pixel x, counted in the whole image's map; a window's map starts at pixel
  // start × scale of it, a whole number since windows are aligned.
  const first = (x: number) => Math.ceil((x - pool.offset) * pool.scale - 1e-9);
  const origin = Math.round(tile.start * pool.scale);
  const from = index === 0 ? 0 : Math.max(0, first(tile.coreStart) - origin);
  const to = index === tiles.length - 1 ? Number.MAX_SAFE_INTEGER : Math.max(0, first(tile.coreEnd) - origin);
  return [from, to];
}

/**
 * Copies a window of an image into a float32 NCHW RGB tensor in [0, 1], in one pass.
 * One-channel images are replicated to RGB; alpha is not part of the colour tensor.
 */
export function windowToTensor(image: Image, column: AxisTile, row: AxisTile, target?: Float32Array): Float32Array {
  const { width, channels } = image;
  const plane = column.size * row.size;
  const tensor = target ?? new Float32Array(3 * plane);
  const inverse = 1 / (image.depth === 16 ? 65535 : 255);
  const grey = channels < 3;
  for (let y = 0; y < row.size; y++) {
    let from = ((row.start + y) * width + column.start) * channels;
    let to = y * column.size;
    for (let x = 0; x < column.size; x++, from += channels, to++) {
      const r = image.data[from]! * inverse;
      tensor[to] = r;
      tensor[plane + to] = grey ? r : image.data[from + 1]! * inverse;
      tensor[2 * plane + to] = grey ? r : image.data[from + 2]! * inverse;
    }
  }
  return tensor;
}
