/**
 * One image's plan: the network passes, the planes each pass runs, the tiles of each pass under `--tile` or the
 * memory budget, the tile count and the expected peak memory. Pure maths of sizes; the pipeline follows the plan.
 */
import { FALLBACK_OVERLAP, MAX_FIELD_OVERLAP, type NetworkModel, type PoolGeometry, type Run } from '../models/catalog.js';
import type { Image } from '../core/image.js';
import type { AlphaModel } from '../options/parsers.js';
import { planTiles, type TilePlan } from '../pixels/tile.js';

/**
 * The memory model behind `--memory` (whole process tree, both processes), measured with onnxruntime-node 1.30 on
 * CPU and rounded up: a fixed part (node, sharp, onnxruntime and the loaded model) and a part per pixel of the
 * window the network runs on (its activations). Custom models are assumed to be as heavy as RRDB.
 */
const MEMORY_MODEL = {
  SRVGGNetCompact: { fixedMiB: 192, networkBytesPerWindowPixel: 1600 },
  RRDBNet: { fixedMiB: 352, networkBytesPerWindowPixel: 15_000 },
  // Real-CUGAN ×2 and ×4 (7–10 KB measured; the waifu2x CUNet at ×1 needs 2 KB): their second U-Net runs at the
  // output's resolution.
  CUNet: { fixedMiB: 192, networkBytesPerWindowPixel: 10_000 },
} as const;

const MIB = 2 ** 20;

export interface TileSizing {
  /** Tile edge for `planTiles`; 0 when the whole image runs as one window. */
  tile: number;
  /** Expected peak of the process tree for this image, in MiB. */
  estimateMiB: number;
}

/** What one pass over an image of the batch holds: its pixels, the network's scale and the images in flight. */
export interface ImageLoad {
  width: number;
  height: number;
  channels: number;
  depth: Image['depth'];
  scale: number;
  imagesInFlight: number;
  /** An animation's frames (default 1): all are held, decoded and upscaled, until the output is encoded from them. */
  frames?: number;
  /** Test-time augmentation holds a turned copy of the input and a float32 sum of the outputs besides. */
  tta?: boolean;
}

/** Overlap the tiler uses when the user gives none: exact for SRVGG, a feathered 32 px where the network sees further. */
export function defaultOverlap(model: NetworkModel): number {
  return Number.isFinite(model.receptiveFieldRadius) && model.receptiveFieldRadius <= MAX_FIELD_OVERLAP ? model.receptiveFieldRadius : FALLBACK_OVERLAP;
}

/**
 * The default tile under a memory budget: the whole image as one window if it fits, else the largest square window
 * that does, after the fixed part and the input and output pixels of every image in flight (the output counted
 * twice: it is encoded from a second copy when metadata is kept). Never below 16 px, even when the budget is
 * too small for that; `estimateMiB` then says by how much.
 */
export function defaultTile(model: NetworkModel, overlap: number, memoryMiB: number, image: ImageLoad): TileSizing {
  const { fixedMiB, networkBytesPerWindowPixel } = MEMORY_MODEL[model.architecture ?? 'RRDBNet'];
  const sampleBytes = image.depth / 8;
  const inputPixels = image.width * image.height;
  const ttaBytes = image.tta ? inputPixels * image.channels * (sampleBytes + 4 * image.scale ** 2) : 0;
  const imageBytes = (image.frames ?? 1) * inputPixels * image.channels * sampleBytes * (1 + 2 * image.scale ** 2) + ttaBytes;
  // Beside the activations: the float32 input tensor and the tile's output samples, once in each process.
  const bytesPerWindowPixel = networkBytesPerWindowPixel + 2 * (12 + 3 * image.scale ** 2 * sampleBytes);
  const fixedBytes = fixedMiB * MIB + image.imagesInFlight * imageBytes;
  const windowBytes = memoryMiB * MIB - fixedBytes;
  const estimate = (windowPixels: number) => Math.ceil((fixedBytes + windowPixels * bytesPerWindowPixel) / MIB);
  if (inputPixels * bytesPerWindowPixel <= windowBytes) return { tile: 0, estimateMiB: estimate(inputPixels) };
  const window = Math.floor(Math.sqrt(Math.max(0, windowBytes) / bytesPerWindowPixel));
  const tile = Math.max(16, window - 2 * overlap);
  const side = (length: number) => Math.min(length, tile + 2 * overlap);
  return { tile, estimateMiB: estimate(side(image.width) * side(image.height)) };
}

/** How many model passes a scale needs: 8× with a 4× model is two passes, then a downscale. */
export function passesFor(scale: number, modelScale: number): number {
  let passes = 1;
  while (modelScale ** passes < scale - 1e-9) passes++;
  return passes;
}

/** The image a plan is for: as its header describes it before decoding, as decoded after. */
export interface ImageShape {
  width: number;
  height: number;
  /** Every channel, alpha included: the whole image is held in memory. */
  channels: number;
  depth: Image['depth'];
  /** Whether an alpha plane runs through the network: one is present and not fully opaque. */
  alpha: boolean;
  /** Frames of an animation, each of this shape; 1 (the default) for a still. */
  frames?: number;
}

/** One pass of the network over every plane. */
export interface PassPlan {
  /** The pass's input size: the image's, times the network's scale for each pass before it. */
  width: number;
  height: number;
  /** The depth the pass's output is stitched at. */
  depth: Image['depth'];
  tiles: TilePlan;
  /**
   * The network's global poolings (the U-Nets' squeeze-and-excitation blocks) when the pass has more than one tile:
   * the tiles first run once for their means over the whole plane, which every tile is then given.
   */
  gather?: PoolGeometry[];
}

export interface ImagePlan {
  /** In order; none for a baseline. */
  passes: PassPlan[];
  /** Whether each pass runs the alpha plane after the colour (see ImageShape.alpha; not with --alpha-model bicubic). */
  alpha: boolean;
  /** Whether the passes run once for each of the 8 flips and rotations of each plane (--tta). */
  tta: boolean;
  /**
   * Progress steps: every tile of every plane of every pass, a gathering pass's tiles included, eight times with
   * --tta; a baseline's one resample counts as one.
   */
  tilesTotal: number;
  /** Expected peak memory of the heaviest pass, in MiB, when the tile follows the budget rather than `--tile`. */
  estimateMiB?: number;
}

export interface PlanSettings {
  tile?: number;
  tileOverlap?: number;
  memory: number;
  imagesInFlight: number;
  tta?: boolean;
  /** Below 1 the network's output is blended with an enlargement of the input: stitched at 16 bits. */
  strength?: number;
  alphaModel?: AlphaModel;
}

/** The one plan maker: from the header for the notice and the dry run, from the decoded image for the run. */
export function planImage(image: ImageShape, run: Run, settings: PlanSettings): ImagePlan {
  const tta = settings.tta ?? false;
  if (run.kind === 'baseline') return { passes: [], alpha: false, tta: false, tilesTotal: 1 };
  const { network } = run;
  const overlap = settings.tileOverlap ?? defaultOverlap(network);
  // Whatever follows the network (a resize, the mean of eight runs, a blend) works on 16-bit output, so that
  // rounding to 8 bits happens once, at the end (for the resize, as in the model's own graph).
  const depth = run.resize || tta || (settings.strength ?? 1) < 1 ? 16 : image.depth;
  const passes: PassPlan[] = [];
  let estimateMiB: number | undefined;
  for (let pass = 0, factor = 1; pass < passesFor(run.scale, network.scale); pass++, factor *= network.scale) {
    const width = image.width * factor;
    const height = image.height * factor;
    const load = { width, height, channels: image.channels, depth, scale: network.scale, imagesInFlight: settings.imagesInFlight, frames: image.frames, tta };
    const sizing = settings.tile === undefined ? defaultTile(network, overlap, settings.memory, load) : { tile: settings.tile };
    if ('estimateMiB' in sizing) estimateMiB = Math.max(estimateMiB ?? 0, sizing.estimateMiB);
    const tiles = planTiles(width, height, sizing.tile, overlap, network.receptiveFieldRadius, network.align);
    const gather = network.pools && tiles.rows.length * tiles.columns.length > 1 ? network.pools : undefined;
    passes.push({ width, height, depth, tiles, ...(gather && { gather }) });
  }
  const tilesPerPlane = passes.reduce((sum, pass) => sum + pass.tiles.rows.length * pass.tiles.columns.length * (pass.gather ? 2 : 1), 0);
  const alpha = image.alpha && settings.alphaModel !== 'bicubic';
  return { passes, alpha, tta, tilesTotal: tilesPerPlane * (alpha ? 2 : 1) * (tta ? 8 : 1), ...(estimateMiB !== undefined && { estimateMiB }) };
}

/** The same pass over the transposed plane (--tta's turned orientations): width and height, rows and columns swap. */
export function transposed(pass: PassPlan): PassPlan {
  const { columns, rows, feather } = pass.tiles;
  return { ...pass, width: pass.height, height: pass.width, tiles: { columns: rows, rows: columns, feather } };
}
