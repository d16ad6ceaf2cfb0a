/**
 * One input through the stages: header checks → decode → upscale (tiled network or baseline) → edits → encode →
 * write; an animation's frames each in turn, a video's through video.ts.
 */
import { stat } from 'node:fs/promises';
import { decode, readHeader, sniffFile, type Animation, type Header } from '../files/decode.js';
import { applyEdits } from '../pixels/edit.js';
import { encodeToBuffer, encodeToFile } from '../files/encode.js';
import { ANIMATED_FORMATS, isVideoFormat, READABLE, type Format, type FormatSpec } from '../core/formats.js';
import { AbortError, errorLine, InputError, inputError, ModelError, ProcessLostError } from '../core/errors.js';
import { framesOf, hasAlpha, isOpaque, stackFrames, type Image, type ImageMetadata } from '../core/image.js';
import { planImage } from './image-plan.js';
import { ERROR_CODES, messages, type ErrorCode } from '../core/messages.js';
import type { PlannedFile } from '../inputs/outputs.js';
import { processVideo } from './video.js';
import { checkInterpolable, interpolateAnimation, interpolatedCount } from './interpolate.js';
import { checkAbort, checkHeader, newTimings, planSettings, precisionOf, rounded, upscalePixels, makesPixels, type Context, type PixelContext } from './upscale.js';
import { exists, writeAtomically } from '../files/write.js';
import type { Timings, FileResult, BufferInfo } from '../core/results.js';

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
interface Foreseen {
  header: Header;
  format: Format;
  /** The output's size after the scale and the edits (of each frame). */
  final: { width: number; height: number };
  /** Frames decoded: all of an animation, 1 for a still or one `--frame`. */
  frames: number;
  /** Frames upscaled and written: `frames`, or with --interpolate an animation's with the new ones between. */
  made: number;
}

/**
 * Header checks before any pixel work: the frame asked for, limits, the output's size against its format, the
 * memory notice. An animation needs a format that holds one, unless `--frame` takes one frame.
 */
async function foresee(input: Input, formatFor: (header: Header) => Format, context: Context): Promise<Foreseen> {
  const { options } = context;
  const header = await readHeader(input.name, input.bytes);
  const format = formatFor(header);
  const { frame } = options;
  if (frame !== undefined && frame >= header.frames) throw inputError('noSuchFrame', input.name, frame, header.frames);
  const frames = frame === undefined ? header.frames : 1;
  if (frames > 1 && !(READABLE[format] as FormatSpec).animated) throw inputError('animatedToStill', input.name, frames, format, ANIMATED_FORMATS);
  const made = context.motion && frames > 1 ? interpolatedCount(frames, context.motion.n, header.animation?.loop !== 1) : frames;
  if (made !== frames) checkInterpolable(input.name, header.width, header.height);
  // Before decoding, whether alpha is all opaque is unknown; the memory estimate does not depend on it.
  const { final } = checkHeader(input.name, { ...header, alpha: hasAlpha(header), frames: made }, made, format, context);
  return { header, format, final, frames, made };
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

/**
 * Decode → upscale by the plan → edits. Each frame of an animation is planned, upscaled and edited exactly as a still
 * of its own (frame k equals frame k alone); the output is encoded from all of them.
 */
async function render(input: Input, { header, format, frames, made }: Foreseen, context: PixelContext, timings: Timings): Promise<Rendered> {
  const { options } = context;
  let phase = performance.now();
  checkAbort(options.signal);
  const decoded = await decode(input.name, header.format, options.maxPixels, input.bytes, frames > 1 ? 'all' : { page: options.frame ?? 0 });
  timings.decode = performance.now() - phase;
  let pictures = frames > 1 ? framesOf(decoded.image, frames) : [decoded.image];
  let animation = header.animation;
  if (made !== frames) {
    // At the input's size, before the upscale: the flow network's cost grows with the pixels it is given.
    phase = performance.now();
    const delayStep = (READABLE[format] as FormatSpec).delayStep ?? 1;
    ({ frames: pictures, animation } = await interpolateAnimation(pictures, animation!, context.motion!, delayStep, options.signal));
    timings.inference += performance.now() - phase;
  }
  // The plans that run: from the decoded pixels, where a fully opaque alpha plane is known to skip the network.
  const plans = pictures.map((picture) => planImage({ ...picture, alpha: hasAlpha(picture) && !isOpaque(picture), frames: made }, context.run, planSettings(context)));
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
    image: made > 1 ? stackFrames(outputs) : first!,
    width: first!.width,
    height: first!.height,
    metadata: options.stripMetadata ? undefined : decoded.metadata,
    animation: made > 1 ? { ...animation!, frameHeight: first!.height } : undefined,
    precision: precisionOf(precisions),
  };
}

/** An error as a file's result: the message and its stable code; anything unforeseen is reported, not thrown. */
function failure(error: unknown, input: string): { error: string; code: ErrorCode; transient?: true } {
  if (error instanceof InputError) return { error: error.message, code: error.code, ...(error.transient && { transient: true as const }) };
  if (error instanceof ModelError) return { error: error.message, code: error.code };
  const transient = error instanceof ProcessLostError && { transient: true as const };
  return { error: messages.unexpected(input, errorLine(error)), code: ERROR_CODES.unexpected, ...transient };
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
      // A dry run predicts the real run's outcome, this one included.
      if (!options.overwrite) throw inputError('outputExists', file.input, file.output);
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
  const foreseen = await foresee(input, () => format, context);
  const { header, final, made } = foreseen;
  Object.assign(result, { width: header.width, height: header.height, outWidth: final.width, outHeight: final.height }, made > 1 && { frames: made });
  if (!makesPixels(context)) return { ...result, status: 'planned' };
  const { image, width, height, metadata, animation, precision } = await render(input, foreseen, context, timings);
  const phase = performance.now();
  const encoding = { format, quality: options.quality, metadata, animation };
  await writeAtomically(file.output, (temporary) => encodeToFile(image, encoding, temporary), { overwrite: options.overwrite, input: file.input });
  timings.encode = performance.now() - phase;
  return { ...result, outWidth: width, outHeight: height, ...(precision && { precision }), timings: rounded(timings) };
}

/** One image in memory through the same stages, encoded into memory: `upscaleImage`'s work. */
export async function processBuffer(input: Input, format: Format | undefined, context: PixelContext): Promise<{ data: Buffer; info: BufferInfo }> {
  const started = performance.now();
  const timings = newTimings();
  const foreseen = await foresee(input, (h) => format ?? h.format, context);
  const { header, format: chosen } = foreseen;
  const { image, width, height, metadata, animation, precision } = await render(input, foreseen, context, timings);
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
    ...(foreseen.made > 1 && { frames: foreseen.made }),
    model: context.run.variant.name,
    ...(precision && { precision }),
    scale: context.run.scale,
    ms: Math.round(performance.now() - started),
    timings: rounded(timings),
  };
  return { data, info };
}
