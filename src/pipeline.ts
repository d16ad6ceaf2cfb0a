/** One image through the stages: header checks → decode → upscale (tiled network or baseline) → edits → encode → write. */
import { access } from 'node:fs/promises';
import { BASELINE_SCALE, pickVariant, type Model, type NetworkModel } from './catalog.js';
import { decode, readHeader } from './decode.js';
import { applyEdits, finalSize, resizeTo } from './edit.js';
import { encodeToFile, MAX_SIDE } from './encode.js';
import { AbortError, errorLine, InputError, ModelError } from './errors.js';
import { allocateImage, hasAlpha, isOpaque, joinAlpha, maxSample, splitAlpha, type Image } from './image.js';
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

/** Estimated working memory of a network per input pixel of a tile, by architecture (measured, with headroom). */
const BYTES_PER_TILE_PIXEL = { SRVGGNetCompact: 2048, RRDBNet: 4096, custom: 4096 } as const;

/** Overlap the tiler uses when the user gives none: exact for SRVGG, a feathered 32 px where the network sees further. */
export function defaultOverlap(model: NetworkModel): number {
  return Number.isFinite(model.receptiveFieldRadius) && model.receptiveFieldRadius <= 64 ? model.receptiveFieldRadius : 32;
}

/** The largest tile edge whose window (tile + 2 × overlap)² fits the memory budget. */
export function defaultTile(model: NetworkModel, overlap: number, memoryMiB: number): number {
  const perPixel = BYTES_PER_TILE_PIXEL[model.architecture ?? 'custom'];
  const window = Math.floor(Math.sqrt((memoryMiB * 2 ** 20) / perPixel));
  return Math.max(16, window - 2 * overlap);
}

export interface Context {
  options: ResolvedOptions;
  /** The network for `options.model`, loaded once per batch; undefined for the baselines. */
  network?: Network;
  /** The model variant actually run (e.g. realesr-animevideov3-x2 for realesr-animevideov3). */
  model: Model;
  scale: number;
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

/** The tiling of a width × height image under the batch's tile, overlap and memory settings. */
function planFor(width: number, height: number, model: NetworkModel, options: ResolvedOptions): TilePlan {
  const overlap = options.tileOverlap ?? defaultOverlap(model);
  const tile = options.tile ?? defaultTile(model, overlap, options.memory);
  return planTiles(width, height, tile, overlap, model.receptiveFieldRadius);
}

async function runNetwork(image: Image, context: Context, onTile: () => void, timings: Timings): Promise<Image> {
  const network = context.network!;
  const { options } = context;
  const plan = planFor(image.width, image.height, context.model as NetworkModel, options);
  const stitcher = new Stitcher(plan, network.scale, image.width, image.height, image.channels === 1 ? 1 : 3, image.depth);
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
      output = await network.run(tensor, windowWidth, windowHeight, image.depth, output);
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

function tileCount(width: number, height: number, context: Context): number {
  if (context.model.kind === 'baseline') return 1;
  const plan = planFor(width, height, context.model, context.options);
  return plan.rows.length * plan.columns.length;
}

/** Upscales colour and alpha to exactly width × height (the requested scale, rounded). */
async function upscalePixels(image: Image, context: Context, onTile: () => void, timings: Timings): Promise<Image> {
  const target = targetSize(image.width, image.height, context.scale);
  if (context.model.kind === 'baseline') {
    const started = performance.now();
    const result = resample(image, target.width, target.height, context.model.name);
    timings.inference += performance.now() - started;
    return result;
  }
  const { colour, alpha } = hasAlpha(image) ? splitAlpha(image) : { colour: image, alpha: undefined };
  const opaque = alpha === undefined || isOpaque(alpha);
  const passes = passesFor(context.scale, context.network!.scale);
  let upColour = colour;
  let upAlpha = opaque ? undefined : alpha;
  for (let pass = 0; pass < passes; pass++) {
    upColour = await runNetwork(upColour, context, onTile, timings);
    if (upAlpha) upAlpha = await runNetwork(upAlpha, context, onTile, timings);
  }
  const started = performance.now();
  upColour = await resizeTo(upColour, target.width, target.height);
  if (upAlpha) {
    upAlpha = await resizeTo(upAlpha, target.width, target.height);
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
  const result: FileResult = { input: file.input, output: file.output, status: 'ok', model: context.model.name, ms: 0 };
  const timings: Timings = { decode: 0, inference: 0, stitch: 0, edit: 0, encode: 0 };
  try {
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
    const upscaled = targetSize(header.width, header.height, context.scale);
    const final = finalSize(upscaled.width, upscaled.height, options.edits, file.input);
    Object.assign(result, { outWidth: final.width, outHeight: final.height });
    const limit = MAX_SIDE[file.format];
    if (final.width > limit || final.height > limit) {
      throw new InputError(messages.outputTooLarge(file.input, file.format, final.width, final.height, limit));
    }
    if (options.dryRun) return { ...result, status: 'planned', ms: Math.round(performance.now() - started) };
    checkAbort(options.signal);
    const tiles = tileCount(header.width, header.height, context) * (context.network ? passesFor(context.scale, context.network.scale) : 1);
    options.onEvent?.({ type: 'start', input: file.input, tilesDone: 0, tilesTotal: tiles });
    const decoded = await decode(file.input, options.maxPixels);
    timings.decode = performance.now() - phase;
    let done = 0;
    const onTile = () => options.onEvent?.({ type: 'tile', input: file.input, tilesDone: ++done, tilesTotal: Math.max(tiles, done) });
    let image = await upscalePixels(decoded.image, context, onTile, timings);
    phase = performance.now();
    image = await applyEdits(image, options.edits, file.input);
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

/** The model that will run and the scale it runs at, for a batch. */
export function resolveRun(model: Model, scale: number | undefined): { model: Model; scale: number } {
  if (model.kind === 'baseline') return { model, scale: scale ?? BASELINE_SCALE };
  const variant = pickVariant(model, scale);
  return { model: variant, scale: scale ?? variant.scale ?? 4 };
}
