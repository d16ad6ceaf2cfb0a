/** One image through the stages: header checks → decode → upscale (tiled network or baseline) → edits → encode → write. */
import { access } from 'node:fs/promises';
import type { NetworkModel, NetworkRun, Run } from './catalog.js';
import { decode, readHeader } from './decode.js';
import { applyEdits, finalSize, resizeTo } from './edit.js';
import { encodeToFile } from './encode.js';
import { READABLE } from './formats.js';
import { AbortError, errorLine, InputError, ModelError } from './errors.js';
import { allocateImage, hasAlpha, isOpaque, joinAlpha, maxSample, splitAlpha, toEightBit, type Image } from './image.js';
import { messages } from './messages.js';
import type { Network } from './model.js';
import type { ResolvedOptions } from './options.js';
import type { PlannedFile } from './plan.js';
import { resample } from './resample.js';
import { Stitcher } from './stitch.js';
import { planTiles, windowToTensor, type TilePlan } from './tile.js';
import { writeAtomically } from './write.js';

/** Milliseconds spent in each stage of one image. */
export interface Timings {
  decode: number;
  inference: number;
  stitch: number;
  edit: number;
  encode: number;
}

export interface FileResult {
  input: string;
  output: string;
  status: 'ok' | 'skipped' | 'error' | 'planned';
  error?: string;
  width?: number;
  height?: number;
  outWidth?: number;
  outHeight?: number;
  model: string;
  ms: number;
  timings?: Timings;
}

/**
 * The memory model behind `--memory` (whole process tree, both processes), measured with onnxruntime-node 1.30 on
 * CPU and rounded up: a fixed part (node, sharp, onnxruntime and the loaded model) and a part per pixel of the
 * window the network runs on (its activations). Custom models are assumed to be as heavy as RRDB.
 */
const MEMORY_MODEL = {
  SRVGGNetCompact: { fixedMiB: 192, networkBytesPerWindowPixel: 1600 },
  RRDBNet: { fixedMiB: 352, networkBytesPerWindowPixel: 15_000 },
} as const;

const MIB = 2 ** 20;

export interface TileSizing {
  /** Tile edge for `planTiles`; 0 when the whole image runs as one window. */
  tile: number;
  /** Expected peak of the process tree for this image, in MiB. */
  estimateMiB: number;
}

/** What one image of the batch is: its pixels, the network's scale and how many images are in flight with it. */
export interface ImageLoad {
  width: number;
  height: number;
  channels: number;
  depth: Image['depth'];
  scale: number;
  imagesInFlight: number;
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
  const imageBytes = inputPixels * image.channels * sampleBytes * (1 + 2 * image.scale ** 2);
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

export interface Context {
  options: ResolvedOptions;
  run: Run;
  /** The network for a network run, loaded once per batch; undefined for the baselines and for a shipped model's dry run. */
  network?: Network;
  /** Images processed at once: --concurrency, or fewer when the batch is smaller. */
  imagesInFlight: number;
}

/** How many model passes a scale needs: 8× with a 4× model is two passes, then a downscale. */
export function passesFor(scale: number, modelScale: number): number {
  let passes = 1;
  while (modelScale ** passes < scale - 1e-9) passes++;
  return passes;
}

function targetSize(width: number, height: number, scale: number) {
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('interrupted');
}

/** The tiling of an image under the batch's tile, overlap and memory settings. */
function planFor(image: Omit<ImageLoad, 'scale' | 'imagesInFlight'>, context: Context & { run: NetworkRun }): TilePlan & { estimateMiB?: number } {
  const { options } = context;
  const model = context.run.network;
  const overlap = options.tileOverlap ?? defaultOverlap(model);
  const load = { ...image, scale: model.scale, imagesInFlight: context.imagesInFlight };
  const sizing = options.tile === undefined ? defaultTile(model, overlap, options.memory, load) : { tile: options.tile, estimateMiB: undefined };
  return { ...planTiles(image.width, image.height, sizing.tile, overlap, model.receptiveFieldRadius), estimateMiB: sizing.estimateMiB };
}

/** Runs the network over an image in tiles; the result has samples of `depth` bits. */
async function runNetwork(image: Image, context: Context & { run: NetworkRun }, onTile: () => void, timings: Timings, depth: Image['depth']): Promise<Image> {
  const network = context.network!;
  const { options } = context;
  const plan = planFor({ ...image, depth }, context);
  const stitcher = new Stitcher(plan, network.scale, image.width, image.height, image.channels === 1 ? 1 : 3, depth);
  const windowWidth = plan.columns[0]!.size;
  const windowHeight = plan.rows[0]!.size;
  const tensor = new Float32Array(3 * windowWidth * windowHeight);
  // One window shape per image, so one output buffer serves every tile.
  let output: Image['data'] | undefined;
  for (let r = 0; r < plan.rows.length; r++) {
    for (let c = 0; c < plan.columns.length; c++) {
      checkAbort(options.signal);
      let started = performance.now();
      windowToTensor(image, plan.columns[c]!, plan.rows[r]!, tensor);
      output = await network.run(tensor, windowWidth, windowHeight, depth, output);
      timings.inference += performance.now() - started;
      started = performance.now();
      stitcher.add(r, c, output);
      timings.stitch += performance.now() - started;
      onTile();
    }
    const started = performance.now();
    stitcher.finishRow(r);
    timings.stitch += performance.now() - started;
  }
  return stitcher.output;
}

/** Tiles of all passes, and the expected peak memory (of the heaviest pass) when the tile follows the budget. */
function planPasses(header: { width: number; height: number; channels: number; depth: Image['depth'] }, context: Context) {
  const { run } = context;
  if (run.kind === 'baseline') return { tiles: 1, estimateMiB: undefined };
  const modelScale = run.network.scale;
  let tiles = 0;
  let estimateMiB: number | undefined;
  for (let pass = 0, factor = 1; pass < passesFor(run.scale, modelScale); pass++, factor *= modelScale) {
    const depth = run.resize ? 16 : header.depth; // as upscalePixels stitches it
    const plan = planFor({ ...header, width: header.width * factor, height: header.height * factor, depth }, { ...context, run });
    tiles += plan.rows.length * plan.columns.length;
    if (plan.estimateMiB !== undefined) estimateMiB = Math.max(estimateMiB ?? 0, plan.estimateMiB);
  }
  return { tiles, estimateMiB };
}

/** Upscales colour and alpha to exactly width × height (the requested scale, rounded). */
async function upscalePixels(image: Image, context: Context, onTile: () => void, timings: Timings): Promise<Image> {
  const { run } = context;
  const target = targetSize(image.width, image.height, run.scale);
  if (run.kind === 'baseline') {
    const started = performance.now();
    const result = resample(image, target.width, target.height, run.variant.name);
    timings.inference += performance.now() - started;
    return result;
  }
  const { colour, alpha } = hasAlpha(image) ? splitAlpha(image) : { colour: image, alpha: undefined };
  const opaque = alpha === undefined || isOpaque(alpha);
  const passes = passesFor(run.scale, run.network.scale);
  // A model that is a network plus a resize gets that resize, done here on 16-bit network output so that
  // rounding to 8 bits happens once, after it, as in the model's own graph.
  const { resize } = run;
  const depth = resize ? 16 : image.depth;
  let upColour = colour;
  let upAlpha = opaque ? undefined : alpha;
  for (let pass = 0; pass < passes; pass++) {
    upColour = await runNetwork(upColour, { ...context, run }, onTile, timings, depth);
    if (upAlpha) upAlpha = await runNetwork(upAlpha, { ...context, run }, onTile, timings, depth);
  }
  const started = performance.now();
  const finish = async (plane: Image) => {
    if (!resize) return resizeTo(plane, target.width, target.height);
    const resized = plane.width === target.width && plane.height === target.height ? plane : resample(plane, target.width, target.height, 'bicubic', resize.cubicA);
    return image.depth === 8 ? toEightBit(resized) : resized;
  };
  upColour = await finish(upColour);
  if (upAlpha) {
    upAlpha = await finish(upAlpha);
  } else if (alpha) {
    // A fully opaque plane is rebuilt, not upscaled.
    upAlpha = allocateImage(target.width, target.height, 1, image.depth);
    upAlpha.data.fill(maxSample(image.depth));
  }
  timings.stitch += performance.now() - started;
  return upAlpha ? joinAlpha(upColour, upAlpha) : upColour;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export async function processFile(file: PlannedFile, context: Context): Promise<FileResult> {
  const { options } = context;
  const started = performance.now();
  const result: FileResult = { input: file.input, output: file.output, status: 'ok', model: context.run.variant.name, ms: 0 };
  const timings: Timings = { decode: 0, inference: 0, stitch: 0, edit: 0, encode: 0 };
  try {
    if (file.problem) throw new InputError(file.problem);
    if (await exists(file.output)) {
      if (options.skipExisting) return { ...result, status: 'skipped' };
      if (!options.overwrite && !options.dryRun) throw new InputError(messages.outputExists(file.output));
    }
    let phase = performance.now();
    const header = await readHeader(file.input);
    Object.assign(result, { width: header.width, height: header.height });
    if (header.width * header.height > options.maxPixels) {
      throw new InputError(messages.tooManyPixels(file.input, header.width, header.height, options.maxPixels));
    }
    const upscaled = targetSize(header.width, header.height, context.run.scale);
    const final = finalSize(upscaled.width, upscaled.height, options.edits, file.input);
    Object.assign(result, { outWidth: final.width, outHeight: final.height });
    const limit = READABLE[file.format].maxSide;
    if (final.width > limit || final.height > limit) {
      throw new InputError(messages.outputTooLarge(file.input, file.format, final.width, final.height, limit));
    }
    const passes = planPasses(header, context);
    // Said on a dry run too, so a batch can be checked against a machine before it runs.
    if (passes.estimateMiB !== undefined && passes.estimateMiB > options.memory) {
      options.onNotice?.(messages.overBudget(file.input, passes.estimateMiB, options.memory, context.imagesInFlight));
    }
    if (options.dryRun) return { ...result, status: 'planned', ms: Math.round(performance.now() - started) };
    checkAbort(options.signal);
    options.onEvent?.({ type: 'start', input: file.input, tilesDone: 0, tilesTotal: passes.tiles });
    const decoded = await decode(file.input, header.format, options.maxPixels);
    timings.decode = performance.now() - phase;
    let done = 0;
    const onTile = () => options.onEvent?.({ type: 'tile', input: file.input, tilesDone: ++done, tilesTotal: Math.max(passes.tiles, done) });
    let image = await upscalePixels(decoded.image, context, onTile, timings);
    phase = performance.now();
    image = await applyEdits(image, options.edits);
    timings.edit = performance.now() - phase;
    checkAbort(options.signal);
    phase = performance.now();
    const encoding = { format: file.format, quality: options.quality, metadata: options.stripMetadata ? undefined : decoded.metadata };
    await writeAtomically(file.output, (temporary) => encodeToFile(image, encoding, temporary), options.overwrite);
    timings.encode = performance.now() - phase;
    const rounded = Object.fromEntries(Object.entries(timings).map(([stage, ms]) => [stage, Math.round(ms)])) as unknown as Timings;
    return { ...result, outWidth: image.width, outHeight: image.height, ms: Math.round(performance.now() - started), timings: rounded };
  } catch (error) {
    if (error instanceof AbortError) throw error;
    const message =
      error instanceof InputError || error instanceof ModelError
        ? error.message
        : messages.unexpected(file.input, errorLine(error));
    return { ...result, status: 'error', error: message, ms: Math.round(performance.now() - started) };
  } finally {
    options.onEvent?.({ type: 'done', input: file.input });
  }
}
