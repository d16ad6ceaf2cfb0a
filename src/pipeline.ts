/**
 * One input through the stages: header checks → decode → upscale (tiled network or baseline) → edits → encode →
 * write; an animation's frames each in turn, a video's through video.ts.
 */
import type { PoolGeometry, Run } from './catalog.js';
import { stat } from 'node:fs/promises';
import { bleedTransparent } from './bleed.js';
import { decode, readHeader, sniffFile, type Animation, type Header } from './decode.js';
import { applyEdits, finalSize, resizeTo } from './edit.js';
import { encodeToBuffer, encodeToFile } from './encode.js';
import { ANIMATED_FORMATS, isVideoFormat, READABLE, type Format, type FormatSpec } from './formats.js';
import { AbortError, errorLine, InputError, inputError, ModelError } from './errors.js';
import { allocateImage, blend, framesOf, hasAlpha, isOpaque, joinAlpha, maxSample, orient, splitAlpha, stackFrames, toDepth, type Image, type ImageMetadata } from './image.js';
import { planImage, transposed, type ImagePlan, type PassPlan } from './image-plan.js';
import { ERROR_CODES, messages, type ErrorCode } from './messages.js';
import type { Network, PoolFeeds } from './inference.js';
import type { ResolvedOptions } from './options.js';
import type { PlannedFile } from './outputs.js';
import { resample } from './resample.js';
import { Stitcher } from './stitch.js';
import { poolSpan, windowToTensor } from './tile.js';
import { processVideo } from './video.js';
import { exists, writeAtomically } from './write.js';

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
  /** With `error`: its stable code (`ERR_INPUT_DECODE`, `ERR_OUTPUT_EXISTS`, …), for scripts. */
  code?: ErrorCode;
  /** The output file's size, once written. */
  bytes?: number;
  width?: number;
  height?: number;
  outWidth?: number;
  outHeight?: number;
  /** Frames of an animated image or a video (absent for stills and for a single `--frame`). */
  frames?: number;
  model: string;
  /** For a network run, the precision it ran in: 16-bit planes run in fp32 under int8 ('int8+fp32' when passes differed). */
  precision?: string;
  ms: number;
  timings?: Timings;
}

/** What `upscaleImage` resolves to beside the encoded bytes. */
export interface BufferInfo {
  format: Format;
  /** The input's size, after EXIF orientation. */
  width: number;
  height: number;
  outWidth: number;
  outHeight: number;
  channels: Image['channels'];
  depth: Image['depth'];
  bytes: number;
  /** Of an animation: its frames. */
  frames?: number;
  model: string;
  /** As FileResult.precision. */
  precision?: string;
  scale: number;
  ms: number;
  timings: Timings;
}

export interface Context {
  options: ResolvedOptions;
  run: Run;
  /** The network for a network run, loaded once per batch; undefined for the baselines and for a shipped model's dry run. */
  network?: Network;
  /** Images processed at once: --concurrency, or fewer when the batch is smaller. */
  imagesInFlight: number;
}

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
export async function upscalePixels(decoded: Image, plan: ImagePlan, context: Context, onTile: () => void, timings: Timings, precisions: Set<string>): Promise<Image> {
  const { run, options } = context;
  const target = targetSize(decoded.width, decoded.height, run.scale);
  let started = performance.now();
  const image = hasAlpha(decoded) && !isOpaque(decoded) ? bleedTransparent(decoded) : decoded;
  timings.stitch += performance.now() - started;
  if (run.kind === 'baseline') {
    started = performance.now();
    const result = resample(image, target.width, target.height, run.variant.name);
    timings.inference += performance.now() - started;
    onTile();
    return result;
  }
  const network = context.network!;
  const { colour, alpha } = hasAlpha(image) ? splitAlpha(image) : { colour: image, alpha: undefined };
  let upColour = await upscalePlane(colour, plan, network, context, onTile, timings, precisions);
  let upAlpha = plan.alpha ? await upscalePlane(alpha!, plan, network, context, onTile, timings, precisions) : undefined;
  started = performance.now();
  // To the target size, at the depth the passes were stitched at (16 bits when anything follows the network).
  const { resize } = run;
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

/** One image, from its planned output to its result; says `done` with the result, or without one if interrupted. */
export async function processFile(file: PlannedFile, context: Context): Promise<FileResult> {
  let result: FileResult | undefined;
  try {
    return (result = await processInput(file, context));
  } finally {
    context.options.onEvent?.({ type: 'done', input: file.input, result });
  }
}

/** One input: the name messages use (its path, `-` for stdin), and its bytes when they are already in memory. */
export interface Input {
  name: string;
  bytes?: Buffer;
}

/** What the header says an input will become, worked out before any pixel is decoded. */
interface Inspected {
  header: Header;
  format: Format;
  /** The output's size after the scale and the edits (of each frame). */
  final: { width: number; height: number };
  /** Frames upscaled: all of an animation, 1 for a still or one `--frame`. */
  frames: number;
}

/**
 * Header checks before any pixel work: the frame asked for, limits, the output's size against its format, the
 * memory notice. An animation needs a format that holds one, unless `--frame` takes one frame.
 */
async function inspect(input: Input, formatFor: (header: Header) => Format, context: Context): Promise<Inspected> {
  const { options } = context;
  const header = await readHeader(input.name, input.bytes);
  const format = formatFor(header);
  const { frame } = options;
  if (frame !== undefined && frame >= header.frames) throw inputError('noSuchFrame', input.name, frame, header.frames);
  const frames = frame === undefined ? header.frames : 1;
  if (frames > 1 && !(READABLE[format] as FormatSpec).animated) throw inputError('animatedToStill', input.name, frames, format, ANIMATED_FORMATS);
  if (frames * header.width * header.height > options.maxPixels) {
    throw inputError('tooManyPixels', input.name, header.width, header.height, frames, options.maxPixels);
  }
  const upscaled = targetSize(header.width, header.height, context.run.scale);
  const final = finalSize(upscaled.width, upscaled.height, options.edits, input.name);
  const limit = READABLE[format].maxSide;
  if (final.width > limit || final.height > limit) throw inputError('outputTooLarge', input.name, format, final.width, final.height, limit);
  // Before decoding, whether alpha is all opaque is unknown; the memory estimate does not depend on it.
  const headerPlan = planImage({ ...header, alpha: hasAlpha(header), frames }, context.run, planSettings(context));
  // Said on a dry run too, so a batch can be checked against a machine before it runs.
  if (headerPlan.estimateMiB !== undefined && headerPlan.estimateMiB > options.memory) {
    options.onNotice?.(messages.overBudget(input.name, headerPlan.estimateMiB, options.memory, context.imagesInFlight));
  }
  return { header, format, final, frames };
}

export function planSettings({ options, imagesInFlight }: Context) {
  const { tile, tileOverlap, memory, tta, strength, alphaModel } = options;
  return { tile, tileOverlap, memory, imagesInFlight, tta, strength, alphaModel };
}

/** The rendered output: its pixels (an animation's frames stacked), each frame's size, and what to carry over. */
interface Rendered {
  image: Image;
  width: number;
  height: number;
  /** None if stripped. */
  metadata?: ImageMetadata;
  /** For an animation: the encoder's frame height, delays and loop count. */
  animation?: Animation & { frameHeight: number };
  /** The network's precision, as FileResult.precision; absent for the baselines. */
  precision?: string;
}

/** What `precisions` says ran: one, or both joined ('int8+fp32'); undefined for none (the baselines). */
export const precisionOf = (precisions: Set<string>): string | undefined => (precisions.size > 0 ? [...precisions].join('+') : undefined);

/**
 * Decode → upscale by the plan → edits. Each frame of an animation is planned, upscaled and edited exactly as a still
 * of its own (frame k equals frame k alone); the output is encoded from all of them.
 */
async function render(input: Input, { header, frames }: Inspected, context: Context, timings: Timings): Promise<Rendered> {
  const { options } = context;
  let phase = performance.now();
  checkAbort(options.signal);
  const decoded = await decode(input.name, header.format, options.maxPixels, input.bytes, frames > 1 ? 'all' : { page: options.frame ?? 0 });
  timings.decode = performance.now() - phase;
  const pictures = frames > 1 ? framesOf(decoded.image, frames) : [decoded.image];
  // The plans that run: from the decoded pixels, where a fully opaque alpha plane is known to skip the network.
  const plans = pictures.map((picture) => planImage({ ...picture, alpha: hasAlpha(picture) && !isOpaque(picture), frames }, context.run, planSettings(context)));
  const tilesTotal = plans.reduce((sum, plan) => sum + plan.tilesTotal, 0);
  options.onEvent?.({ type: 'start', input: input.name, tilesDone: 0, tilesTotal });
  let done = 0;
  const onTile = () => options.onEvent?.({ type: 'tile', input: input.name, tilesDone: ++done, tilesTotal });
  const outputs: Image[] = [];
  const precisions = new Set<string>();
  for (const [k, picture] of pictures.entries()) {
    const image = await upscalePixels(picture, plans[k]!, context, onTile, timings, precisions);
    phase = performance.now();
    outputs.push(await applyEdits(image, options.edits));
    timings.edit += performance.now() - phase;
  }
  checkAbort(options.signal);
  const [first] = outputs;
  return {
    image: frames > 1 ? stackFrames(outputs) : first!,
    width: first!.width,
    height: first!.height,
    metadata: options.stripMetadata ? undefined : decoded.metadata,
    animation: frames > 1 ? { ...header.animation!, frameHeight: first!.height } : undefined,
    precision: precisionOf(precisions),
  };
}

export function newTimings(): Timings {
  return { decode: 0, inference: 0, stitch: 0, edit: 0, encode: 0 };
}

export function rounded(timings: Timings): Timings {
  return Object.fromEntries(Object.entries(timings).map(([stage, ms]) => [stage, Math.round(ms)])) as unknown as Timings;
}

/** An error as a file's result: the message and its stable code; anything unforeseen is reported, not thrown. */
function failure(error: unknown, input: string): { error: string; code: ErrorCode } {
  if (error instanceof InputError || error instanceof ModelError) return { error: error.message, code: error.code };
  return { error: messages.unexpected(input, errorLine(error)), code: ERROR_CODES.unexpected };
}

/** The checks every input gets, then its own path by what its content is: an image or a video. */
async function processInput(file: PlannedFile, context: Context): Promise<FileResult> {
  const { options } = context;
  const started = performance.now();
  const result: FileResult = { input: file.input, output: file.output, status: 'ok', model: context.run.variant.name, ms: 0 };
  const elapsed = () => Math.round(performance.now() - started);
  try {
    if (file.problem) throw file.problem;
    if (await exists(file.output)) {
      if (options.skipExisting) return { ...result, status: 'skipped' };
      if (!options.overwrite && !options.dryRun) throw inputError('outputExists', file.input, file.output);
    }
    const sniffed = await sniffFile(file.input);
    const done = sniffed.kind === 'video' ? await processVideo(file, sniffed.demuxer, context, result) : await processImage(file, context, result);
    if (done.status === 'planned') return { ...done, ms: elapsed() };
    return { ...done, bytes: (await stat(file.output)).size, ms: elapsed() };
  } catch (error) {
    if (error instanceof AbortError) throw error;
    return { ...result, status: 'error', ...failure(error, file.input), ms: elapsed() };
  }
}

/** One image file: a still, one `--frame` of an animation, or every frame of one. */
async function processImage(file: PlannedFile, context: Context, result: FileResult): Promise<FileResult> {
  const { options } = context;
  const timings = newTimings();
  const { format } = file;
  if (isVideoFormat(format)) throw inputError('imageToVideo', file.input, format);
  const input = { name: file.input };
  const inspected = await inspect(input, () => format, context);
  const { header, final, frames } = inspected;
  Object.assign(result, { width: header.width, height: header.height, outWidth: final.width, outHeight: final.height }, frames > 1 && { frames });
  if (options.dryRun) return { ...result, status: 'planned' };
  const { image, width, height, metadata, animation, precision } = await render(input, inspected, context, timings);
  const phase = performance.now();
  const encoding = { format, quality: options.quality, metadata, animation };
  await writeAtomically(file.output, (temporary) => encodeToFile(image, encoding, temporary), { overwrite: options.overwrite, input: file.input });
  timings.encode = performance.now() - phase;
  return { ...result, outWidth: width, outHeight: height, ...(precision && { precision }), timings: rounded(timings) };
}

/** One image in memory through the same stages, encoded into memory: `upscaleImage`'s work. */
export async function processBuffer(input: Input, format: Format | undefined, context: Context): Promise<{ data: Buffer; info: BufferInfo }> {
  const started = performance.now();
  const timings = newTimings();
  const inspected = await inspect(input, (h) => format ?? h.format, context);
  const { header, format: chosen } = inspected;
  const { image, width, height, metadata, animation, precision } = await render(input, inspected, context, timings);
  const phase = performance.now();
  const data = await encodeToBuffer(image, { format: chosen, quality: context.options.quality, metadata, animation });
  timings.encode = performance.now() - phase;
  const info: BufferInfo = {
    format: chosen,
    width: header.width,
    height: header.height,
    outWidth: width,
    outHeight: height,
    channels: image.channels,
    depth: image.depth,
    bytes: data.length,
    ...(inspected.frames > 1 && { frames: inspected.frames }),
    model: context.run.variant.name,
    ...(precision && { precision }),
    scale: context.run.scale,
    ms: Math.round(performance.now() - started),
    timings: rounded(timings),
  };
  return { data, info };
}
