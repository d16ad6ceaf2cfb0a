/**
 * One image's plan: the network passes, the planes each pass runs, the tiles of each pass under `--tile` or the
 * memory budget, the tile count and the expected peak memory. Pure maths of sizes; the pipeline follows the plan.
 */
import type { NetworkModel, Run } from './catalog.js';
import type { Image } from './image.js';
import { planTiles, type TilePlan } from './tile.js';

/**
 * The memory model behind `--memory` (whole process tree, both processes), measured with onnxruntime-node 1.30 on
 * CPU and rounded up: a fixed part (node, sharp, onnxruntime and the loaded model) and a part per pixel of the
 * window the network runs on (its activations). Custom models are assumed to be as heavy as RRDB.
 */
const MEMORY_MODEL = {
  SRVGGNetCompact: { fixedMiB: 192, networkBytesPerWindowPixel: 1600 },
  RRDBNet: { fixedMiB: 352, networkBytesPerWindowPixel: 15_000 },
  CUNet: { fixedMiB: 352, networkBytesPerWindowPixel: 15_000 },
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
}

/** Overlap the tiler uses when the user gives none: exact for SRVGG, a feathered 32 px where the network sees further. */
export function defaultOverlap(model: NetworkModel): number {
  return Number.isFinite(model.receptiveFieldRadius) && model.receptiveFieldRadius <= 64 ? model.receptiveFieldRadius : 32;
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
  const imageBytes = (image.frames ?? 1) * inputPixels * image.channels * sampleBytes * (1 + 2 * image.scale ** 2);
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
}

export interface ImagePlan {
  /** In order; none for a baseline. */
  passes: PassPlan[];
  /** Whether each pass runs the alpha plane after the colour (see ImageShape.alpha). */
  alpha: boolean;
  /** Progress steps: every tile of every plane of every pass; a baseline's one resample counts as one. */
  tilesTotal: number;
  /** Expected peak memory of the heaviest pass, in MiB, when the tile follows the budget rather than `--tile`. */
  estimateMiB?: number;
}

export interface PlanSettings {
  tile?: number;
  tileOverlap?: number;
  memory: number;
  imagesInFlight: number;
}

/** The one plan maker: from the header for the notice and the dry run, from the decoded image for the run. */
export function planImage(image: ImageShape, run: Run, settings: PlanSettings): ImagePlan {
  if (run.kind === 'baseline') return { passes: [], alpha: false, tilesTotal: 1 };
  const { network } = run;
  const overlap = settings.tileOverlap ?? defaultOverlap(network);
  // A network plus a resize is stitched at 16 bits, so that rounding to 8 bits happens once, after the resize, as in
  // the model's own graph.
  const depth = run.resize ? 16 : image.depth;
  const passes: PassPlan[] = [];
  let estimateMiB: number | undefined;
  for (let pass = 0, factor = 1; pass < passesFor(run.scale, network.scale); pass++, factor *= network.scale) {
    const width = image.width * factor;
    const height = image.height * factor;
    const load = { width, height, channels: image.channels, depth, scale: network.scale, imagesInFlight: settings.imagesInFlight, frames: image.frames };
    const sizing = settings.tile === undefined ? defaultTile(network, overlap, settings.memory, load) : { tile: settings.tile };
    if ('estimateMiB' in sizing) estimateMiB = Math.max(estimateMiB ?? 0, sizing.estimateMiB);
    passes.push({ width, height, depth, tiles: planTiles(width, height, sizing.tile, overlap, network.receptiveFieldRadius) });
  }
  const tilesPerPlane = passes.reduce((sum, pass) => sum + pass.tiles.rows.length * pass.tiles.columns.length, 0);
  return { passes, alpha: image.alpha, tilesTotal: tilesPerPlane * (image.alpha ? 2 : 1), ...(estimateMiB !== undefined && { estimateMiB }) };
}
