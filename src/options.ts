/**
 * The one place options are checked. Everything downstream takes a ResolvedOptions and trusts it.
 * Values may come as strings (from the command line) or typed (from library callers).
 */
import { availableParallelism } from 'node:os';
import { DEFAULT_MODEL, findModel, modelNames, type Model } from './catalog.js';
import { existsSync, statSync } from 'node:fs';
import { FITS, POSITIONS, type Annotation, type Crop, type Edits, type Fit, type Position, type Resize, type Watermark } from './edit.js';
import { FORMATS, writableFormatOf, type Format } from './formats.js';
import { UsageError } from './errors.js';
import { messages } from './messages.js';
import { DEVICES, type Device } from './inference.js';
import type { FileResult } from './pipeline.js';
import type { Batch } from './report.js';

/** Progress of a batch, in this order: one `plan`, then per image `start`, `tile`s and `done`. */
export type UpscaleEvent =
  /** Once the batch is planned, before any image starts: what `summary` will count. */
  | ({ type: 'plan' } & Batch)
  /** An image is decoded and its pixel work begins; then after each tile of every pass. */
  | { type: 'start' | 'tile'; input: string; tilesDone: number; tilesTotal: number }
  /** An image is finished, whether or not it got as far as `start`: `result` is its entry in `files`; absent if it was interrupted. */
  | { type: 'done'; input: string; result?: FileResult };

/** What a caller may pass to `upscale()`; the CLI passes its flags through unchanged. */
export interface UpscaleOptions {
  /** A folder (the input tree is mirrored below it) or, with one input, a file. */
  output?: string;
  /** A shipped model name, a baseline (`nearest`, `bilinear`, `bicubic`) or a path to an `.onnx` file. */
  model?: string;
  /** Output scale, any number ≥ 1; default: the model's own. */
  scale?: number | string;
  /** Tile edge in input pixels; 0 = whole image in one run; default: the largest that fits `memory`. */
  tile?: number | string;
  /** Context added around each tile, in input pixels. */
  tileOverlap?: number | string;
  device?: Device | string;
  /** Images in flight at once. */
  concurrency?: number | string;
  format?: Format | string;
  quality?: number | string;
  /** `left,top,width,height` in output pixels. */
  crop?: Crop | string;
  rotate?: number | string;
  flip?: boolean;
  flop?: boolean;
  /** `WxH`, `Wx` or `xH`: fit inside, aspect kept; `WxH!`: exactly that size. */
  resize?: Resize | string;
  /** Shorthands for `--resize Wx` and `--resize xH`. */
  width?: number | string;
  height?: number | string;
  fit?: Fit | string;
  brightness?: number | string;
  saturation?: number | string;
  hue?: number | string;
  gamma?: number | string;
  contrast?: number | string;
  /** true, or the sigma of the unsharp mask. */
  sharpen?: boolean | number | string;
  blur?: number | string;
  grayscale?: boolean;
  normalize?: boolean;
  denoise?: number | string;
  watermark?: string;
  watermarkPosition?: Position | string;
  watermarkOpacity?: number | string;
  watermarkScale?: number | string;
  annotate?: string;
  annotateSize?: number | string;
  annotateColour?: string;
  overwrite?: boolean;
  skipExisting?: boolean;
  dryRun?: boolean;
  stripMetadata?: boolean;
  /** Largest input accepted, in pixels (decompression-bomb guard). */
  maxPixels?: number | string;
  /** Memory budget for the whole run (both processes), in MiB, at least 256; picks the default tile size. */
  memory?: number | string;
  onEvent?: (event: UpscaleEvent) => void;
  /** One line when `device: 'auto'` picks a device, or when an image cannot fit `memory` even in 16 px tiles. */
  onNotice?: (line: string) => void;
  signal?: AbortSignal;
}

export interface ResolvedOptions {
  output?: string;
  model: Model;
  scale?: number;
  tile?: number;
  tileOverlap?: number;
  device: Device;
  concurrency: number;
  format?: Format;
  quality?: number;
  edits: Edits;
  overwrite: boolean;
  skipExisting: boolean;
  dryRun: boolean;
  stripMetadata: boolean;
  maxPixels: number;
  memory: number;
  onEvent?: (event: UpscaleEvent) => void;
  onNotice?: (line: string) => void;
  signal?: AbortSignal;
}

export const DEFAULT_MAX_PIXELS = 100_000_000;
export const DEFAULT_MEMORY_MIB = 2048;

type Raw = number | string | undefined;

function parseNumber(value: Raw): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || value.trim() === '') return NaN;
  return Number(value);
}

export function integer(flag: string, value: Raw, min: number, max: number): number;
export function integer(flag: string, value: Raw, min: number, max: number, optional: true): number | undefined;
export function integer(flag: string, value: Raw, min: number, max: number, optional = false): number | undefined {
  if (value === undefined && optional) return undefined;
  const n = parseNumber(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(messages.expected(`integer between ${min} and ${max}`, flag, value));
  return n;
}

function number(flag: string, value: Raw, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = parseNumber(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(messages.expected(`number between ${min} and ${max}`, flag, value));
  return n;
}

export function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value.toLowerCase())) {
    throw new UsageError(messages.expectedOneOf(flag, allowed, value));
  }
  return value.toLowerCase() as T;
}

function parseCrop(value: Crop | string | undefined): Crop | undefined {
  if (value === undefined) return undefined;
  const parts = typeof value === 'string' ? value.split(',').map((p) => p.trim()) : [value.left, value.top, value.width, value.height];
  const numbers = parts.map(parseNumber);
  const valid =
    numbers.length === 4 && numbers.every((n) => Number.isInteger(n) && n >= 0) && numbers[2]! > 0 && numbers[3]! > 0;
  if (!valid) throw new UsageError(messages.expected('left,top,width,height as whole numbers (width and height > 0)', '--crop', typeof value === 'string' ? value : parts.join(',')));
  const [left, top, width, height] = numbers as [number, number, number, number];
  return { left, top, width, height };
}

function parseResize(value: Resize | string | undefined): Resize | undefined {
  if (value === undefined) return undefined;
  const fail = () => new UsageError(messages.expected('WxH, Wx, xH or WxH! with whole numbers of pixels', '--resize', typeof value === 'string' ? value : `${value.width}x${value.height}`));
  if (typeof value !== 'string') {
    const ok = [value.width, value.height].every((n) => n === undefined || (Number.isInteger(n) && n > 0)) && (value.width ?? value.height) !== undefined;
    if (!ok) throw fail();
    return value;
  }
  const match = /^\s*(\d*)\s*[xX×]\s*(\d*)\s*(!?)\s*$/.exec(value);
  if (!match || (match[1] === '' && match[2] === '') || (match[3] && (match[1] === '' || match[2] === ''))) throw fail();
  const width = match[1] ? Number(match[1]) : undefined;
  const height = match[2] ? Number(match[2]) : undefined;
  if (width === 0 || height === 0) throw fail();
  return match[3] ? { width, height, fit: 'fill' } : { width, height };
}

export function resolveOptions(options: UpscaleOptions = {}): ResolvedOptions {
  const modelName = options.model ?? DEFAULT_MODEL;
  const model = findModel(modelName);
  if (!model) throw new UsageError(messages.unknownModel(modelName, modelNames()));
  if (options.overwrite && options.skipExisting) throw new UsageError(messages.conflictingFlags('--overwrite', '--skip-existing'));
  // 0 (whole image) is documented separately from the real range.
  const tile = options.tile === undefined ? undefined : parseNumber(options.tile) === 0 ? 0 : integer('--tile', options.tile, 16, 4096);
  return {
    output: options.output,
    model,
    scale: number('--scale', options.scale, 1, 16),
    tile,
    tileOverlap: integer('--tile-overlap', options.tileOverlap, 0, 512, true),
    device: options.device === undefined ? 'auto' : oneOf('--device', options.device, DEVICES),
    concurrency: integer('--concurrency', options.concurrency, 1, 64, true) ?? defaultConcurrency(model),
    format: options.format === undefined ? undefined : normaliseFormat(options.format),
    quality: integer('--quality', options.quality, 1, 100, true),
    edits: {
      crop: parseCrop(options.crop),
      rotate: number('--rotate', options.rotate, -360, 360),
      flip: options.flip ?? false,
      flop: options.flop ?? false,
      resize: resolveResize(options),
      colour: {
        brightness: number('--brightness', options.brightness, 0, 10),
        saturation: number('--saturation', options.saturation, 0, 10),
        hue: number('--hue', options.hue, -360, 360),
        contrast: number('--contrast', options.contrast, 0, 10),
        gamma: number('--gamma', options.gamma, 0.1, 10),
      },
      filters: {
        grayscale: options.grayscale ?? false,
        normalize: options.normalize ?? false,
        denoise: integer('--denoise', options.denoise, 1, 10, true),
        blur: number('--blur', options.blur, 0.3, 1000),
        sharpen: resolveSharpen(options.sharpen),
      },
      watermark: resolveWatermark(options),
      annotate: resolveAnnotation(options),
    },
    overwrite: options.overwrite ?? false,
    skipExisting: options.skipExisting ?? false,
    dryRun: options.dryRun ?? false,
    stripMetadata: options.stripMetadata ?? false,
    maxPixels: integer('--max-pixels', options.maxPixels, 1, Number.MAX_SAFE_INTEGER, true) ?? DEFAULT_MAX_PIXELS,
    memory: integer('--memory', options.memory, 256, 1_048_576, true) ?? DEFAULT_MEMORY_MIB,
    onEvent: options.onEvent,
    onNotice: options.onNotice,
    signal: options.signal,
  };
}

/** --resize, or its --width / --height shorthands, with --fit applied. */
function resolveResize(options: UpscaleOptions): Resize | undefined {
  const width = integer('--width', options.width, 1, 1_000_000, true);
  const height = integer('--height', options.height, 1, 1_000_000, true);
  if (options.resize !== undefined && (width !== undefined || height !== undefined)) {
    throw new UsageError(messages.conflictingFlags('--resize', width !== undefined ? '--width' : '--height'));
  }
  const resize = parseResize(options.resize) ?? (width !== undefined || height !== undefined ? { width, height } : undefined);
  if (options.fit === undefined) return resize;
  const fit = oneOf('--fit', options.fit, FITS);
  if (!resize) throw new UsageError(messages.needsFlag('--fit', '--resize, --width or --height'));
  if (resize.fit === 'fill' && fit !== 'fill') throw new UsageError(messages.conflictingFlags(`--resize ${String(options.resize)}`, `--fit ${fit}`));
  return { ...resize, fit };
}

function resolveWatermark(options: UpscaleOptions): Watermark | undefined {
  const position = options.watermarkPosition === undefined ? 'southeast' : oneOf('--watermark-position', options.watermarkPosition, POSITIONS);
  const opacity = number('--watermark-opacity', options.watermarkOpacity, 0, 1) ?? 0.5;
  const scale = number('--watermark-scale', options.watermarkScale, 0.01, 1) ?? 0.2;
  if (options.watermark === undefined) {
    const stray = options.watermarkOpacity !== undefined ? '--watermark-opacity' : options.watermarkScale !== undefined ? '--watermark-scale' : undefined;
    if (stray) throw new UsageError(messages.needsFlag(stray, '--watermark <file>'));
    return undefined;
  }
  const path = options.watermark;
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(messages.badWatermark(path, 'no such file'));
  return { path, position, opacity, scale };
}

const COLOUR = /^(#[0-9a-f]{3}|#[0-9a-f]{4}|#[0-9a-f]{6}|#[0-9a-f]{8}|[a-z]+)$/i;

function resolveAnnotation(options: UpscaleOptions): Annotation | undefined {
  const size = integer('--annotate-size', options.annotateSize, 4, 2000, true);
  const colour = options.annotateColour ?? 'white';
  if (!COLOUR.test(colour)) throw new UsageError(messages.expected('a colour as #rgb, #rrggbb or a CSS name', '--annotate-colour', colour));
  if (options.annotate === undefined) {
    if (options.annotateSize !== undefined) throw new UsageError(messages.needsFlag('--annotate-size', '--annotate <text>'));
    return undefined;
  }
  if (options.annotate.trim() === '') throw new UsageError(messages.expected('non-empty text', '--annotate', options.annotate));
  // The watermark and the annotation share --watermark-position, as the one placement flag.
  const position = options.watermarkPosition === undefined ? 'southwest' : oneOf('--watermark-position', options.watermarkPosition, POSITIONS);
  return { text: options.annotate, position, size, colour };
}

function resolveSharpen(value: UpscaleOptions['sharpen']): number | true | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return true;
  return number('--sharpen', value, 0.01, 10);
}

function normaliseFormat(value: string): Format {
  // Any of a format's extensions names it too (jpg, tif).
  return oneOf('--format', writableFormatOf(value) ?? value, FORMATS);
}

/**
 * A network uses every core for one image at a time, so two images in flight let one decode and encode while
 * the other runs; the baselines are single-threaded JavaScript, so one image per core.
 */
function defaultConcurrency(model: Model): number {
  return model.kind === 'network' ? 2 : Math.max(1, availableParallelism());
}
