/**
 * The pixel stage: one decoded image through the network (tiled, with its global poolings gathered) or a baseline,
 * and the per-image bookkeeping (timings, precision, abort) the image and video paths share.
 */
import type { BaselineRun, NetworkRun, PoolGeometry, Run } from '../models/catalog.js';
import { bleedTransparent } from '../pixels/bleed.js';
import { finalSize, resizeTo } from '../pixels/edit.js';
import { AbortError, inputError } from '../core/errors.js';
import { READABLE, type Format } from '../core/formats.js';
import { messages } from '../core/messages.js';
import { allocateImage, blend, hasAlpha, isOpaque, joinAlpha, maxSample, orient, splitAlpha, toDepth, type Image } from '../core/image.js';
import { planImage, transposed, type ImagePlan, type ImageShape, type PassPlan } from './image-plan.js';
import type { Network, PoolFeeds } from '../inference/inference.js';
import type { Motion } from '../inference/interpolator.js';
import type { ResolvedOptions } from '../options/options.js';
import { resample } from '../pixels/resample.js';
import { Stitcher } from '../pixels/stitch.js';
import { poolSpan, windowToTensor } from '../pixels/tile.js';
import type { Timings } from '../core/results.js';

/** What makes an image's pixels: a baseline, or a network run with its network loaded. */
export type Engine = { kind: 'baseline'; run: BaselineRun } | { kind: 'network'; run: NetworkRun; network: Network };

export interface Context {
  options: ResolvedOptions;
  run: Run;
  /** How the pixels are made; none for a dry run, which plans and reaches no pixels. */
  engine?: Engine;
  /** Images processed at once: --concurrency, or fewer when the batch is smaller. */
  imagesInFlight: number;
  /** With --interpolate: how videos and animations get their new frames. */
  motion?: Motion;
}

/** A context that makes pixels: every path past a dry run's return. */
export type PixelContext = Context & { engine: Engine };
export const makesPixels = (context: Context): context is PixelContext => context.engine !== undefined;

export function targetSize(width: number, height: number, scale: number) {
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('interrupted');
}

/** Runs one pass of the network over one plane, tile by tile, as the pass's plan lays them out. */
async function runPass(plane: Image, pass: PassPlan, network: Network, context: Context, onTile: () => void, timings: Timings): Promise<Image> {
  const { tiles, depth } = pass;
  const stitcher = new Stitcher(tiles, network.scale, plane.width, plane.height, plane.channels === 1 ? 1 : 3, depth);
  const windowWidth = tiles.columns[0]!.size;
  const windowHeight = tiles.rows[0]!.size;
  const tensor = new Float32Array(3 * windowWidth * windowHeight);
  const pools = pass.gather ? await gatherPools(plane, pass, pass.gather, network, context, tensor, onTile, timings) : undefined;
  // One window shape per image, so one output buffer serves every tile.
  let output: Image['data'] | undefined;
  for (let r = 0; r < tiles.rows.length; r++) {
    for (let c = 0; c < tiles.columns.length; c++) {
      checkAbort(context.options.signal);
      let started = performance.now();
      windowToTensor(plane, tiles.columns[c]!, tiles.rows[r]!, tensor);
      output = await network.run(tensor, windowWidth, windowHeight, depth, output, pools?.(r, c));
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

/**
 * The first run of a tiled pass of a network with global poolings (the U-Nets' squeeze-and-excitation blocks, whose
 * means a lone tile would take over its own window alone): every tile sums the part of each pooled feature map its
 * core owns (poolSpan), which adds up to the whole plane's means. Returns what each tile is then given in its second,
 * stitched run: those means, and its regions.
 */
async function gatherPools(
  plane: Image,
  pass: PassPlan,
  geometry: readonly PoolGeometry[],
  network: Network,
  context: Context,
  tensor: Float32Array,
  onTile: () => void,
  timings: Timings,
) {
  const { tiles } = pass;
  const regions = (r: number, c: number) => geometry.map((pool) => [...poolSpan(tiles.rows, r, pool), ...poolSpan(tiles.columns, c, pool)] as const);
  const sums = geometry.map((pool) => new Float64Array(pool.channels));
  const counts = geometry.map(() => 0);
  for (let r = 0; r < tiles.rows.length; r++) {
    for (let c = 0; c < tiles.columns.length; c++) {
      checkAbort(context.options.signal);
      const started = performance.now();
      windowToTensor(plane, tiles.columns[c]!, tiles.rows[r]!, tensor);
      const part = await network.sumPools(tensor, tiles.columns[c]!.size, tiles.rows[r]!.size, { means: [], regions: regions(r, c) });
      part.sums.forEach((sum, k) => sum.forEach((v, i) => (sums[k]![i]! += v)));
      part.counts.forEach((n, k) => (counts[k]! += n));
      timings.inference += performance.now() - started;
      onTile();
    }
  }
  const means = sums.map((sum, k) => Float32Array.from(sum, (v) => v / counts[k]!));
  return (r: number, c: number): PoolFeeds => ({ means, regions: regions(r, c) });
}

/**
 * Every pass over one plane; with --tta the mean of all of them over the plane's 8 flips and rotations. Each pass
 * runs on the network for its input's depth, whose precision goes into `precisions`.
 */
async function upscalePlane(plane: Image, plan: ImagePlan, network: Network, context: Context, onTile: () => void, timings: Timings, precisions: Set<string>): Promise<Image> {
  const passes = async (input: Image, turned: boolean) => {
    let current = input;
    for (const pass of plan.passes) {
      const runs = await network.forDepth(current.depth);
      precisions.add(runs.precision);
      current = await runPass(current, turned ? transposed(pass) : pass, runs, context, onTile, timings);
    }
    return current;
  };
  if (!plan.tta) return passes(plane, false);
  let sum: Float32Array | undefined;
  let last: Image | undefined;
  for (let turn = 0; turn < 8; turn++) {
    last = orient(await passes(orient(plane, turn), (turn & 4) !== 0), turn, true);
    // Sums of eight 16-bit samples are exact in float32.
    sum ??= new Float32Array(last.data.length);
    for (let i = 0; i < sum.length; i++) sum[i]! += last.data[i]!;
  }
  const mean = allocateImage(last!.width, last!.height, last!.channels, last!.depth);
  for (let i = 0; i < sum!.length; i++) mean.data[i] = Math.round(sum![i]! / 8);
  return mean;
}

/**
 * Upscales colour and alpha to exactly width × height (the requested scale, rounded), following the plan; adds the
 * precision each network pass ran in to `precisions`.
 */
export async function upscalePixels(decoded: Image, plan: ImagePlan, context: PixelContext, onTile: () => void, timings: Timings, precisions: Set<string>): Promise<Image> {
  const { run, options, engine } = context;
  const target = targetSize(decoded.width, decoded.height, run.scale);
  let started = performance.now();
  const image = hasAlpha(decoded) && !isOpaque(decoded) ? bleedTransparent(decoded) : decoded;
  timings.stitch += performance.now() - started;
  if (engine.kind === 'baseline') {
    started = performance.now();
    const result = resample(image, target.width, target.height, engine.run.variant.name);
    timings.inference += performance.now() - started;
    onTile();
    return result;
  }
  const { network } = engine;
  const { colour, alpha } = hasAlpha(image) ? splitAlpha(image) : { colour: image, alpha: undefined };
  let upColour = await upscalePlane(colour, plan, network, context, onTile, timings, precisions);
  let upAlpha = plan.alpha ? await upscalePlane(alpha!, plan, network, context, onTile, timings, precisions) : undefined;
  started = performance.now();
  // To the target size, at the depth the passes were stitched at (16 bits when anything follows the network).
  const { resize } = engine.run;
  const finish = async (plane: Image) => {
    if (!resize) return resizeTo(plane, target.width, target.height);
    return plane.width === target.width && plane.height === target.height ? plane : resample(plane, target.width, target.height, 'bicubic', resize.cubicA);
  };
  upColour = await finish(upColour);
  // --strength: an output blend with a lanczos enlargement of the input, on the same pixel grid as the network's.
  if (options.strength < 1) upColour = blend(upColour, resample(toDepth(colour, 16), target.width, target.height, 'lanczos'), options.strength);
  // The one rounding to the image's depth.
  upColour = toDepth(upColour, image.depth);
  if (upAlpha) {
    upAlpha = toDepth(await finish(upAlpha), image.depth);
  } else if (alpha && options.alphaModel === 'bicubic' && !isOpaque(alpha)) {
    upAlpha = resample(alpha, target.width, target.height, 'bicubic');
  } else if (alpha) {
    // A fully opaque plane is rebuilt, not upscaled.
    upAlpha = allocateImage(target.width, target.height, 1, image.depth);
    upAlpha.data.fill(maxSample(image.depth));
  }
  timings.stitch += performance.now() - started;
  return upAlpha ? joinAlpha(upColour, upAlpha) : upColour;
}


/**
 * The checks every input gets from its header, before any pixel is decoded, whatever it is (a still, an animation,
 * a video): the pixels it would hold against --max-pixels, its output's size after the scale and the edits against
 * the image format's limit (videos: the encoder's checks), and its plan, whose memory estimate over --memory is a notice. `counted` is the frames that
 * --max-pixels counts: an animation's all (every one is held until the output is encoded), a video's one (its
 * frames stream through, two at a time).
 */
export function checkHeader(input: string, shape: ImageShape, counted: number, format: Format | undefined, context: Context): { final: { width: number; height: number }; plan: ImagePlan } {
  const { options } = context;
  if (counted * shape.width * shape.height > options.maxPixels) throw inputError('tooManyPixels', input, shape.width, shape.height, counted, options.maxPixels);
  const upscaled = targetSize(shape.width, shape.height, context.run.scale);
  const final = finalSize(upscaled.width, upscaled.height, options.edits, input);
  const maxSide = format && READABLE[format].maxSide;
  if (format && maxSide && (final.width > maxSide || final.height > maxSide)) throw inputError('outputTooLarge', input, format, final.width, final.height, maxSide);
  const plan = planImage(shape, context.run, planSettings(context));
  // Said on a dry run too, so a batch can be checked against a machine before it runs.
  if (plan.estimateMiB !== undefined && plan.estimateMiB > options.memory) {
    options.onNotice?.(messages.overBudget(input, plan.estimateMiB, options.memory, context.imagesInFlight));
  }
  return { final, plan };
}

export function planSettings({ options, imagesInFlight }: Context) {
  const { tile, tileOverlap, memory, tta, strength, alphaModel } = options;
  return { tile, tileOverlap, memory, imagesInFlight, tta, strength, alphaModel };
}

/** What `precisions` says ran: one, or both joined ('int8+fp32'); undefined for none (the baselines). */
export const precisionOf = (precisions: Set<string>): string | undefined => (precisions.size > 0 ? [...precisions].join('+') : undefined);

export function newTimings(): Timings {
  return { decode: 0, inference: 0, stitch: 0, edit: 0, encode: 0 };
}

export function rounded(timings: Timings): Timings {
  return Object.fromEntries(Object.entries(timings).map(([stage, ms]) => [stage, Math.round(ms)])) as unknown as Timings;
}

