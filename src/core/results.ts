/**
 * What a run reports, in one place: each file's result, the batch's plan and summary, the progress events, and
 * what `upscaleImage` returns beside its bytes; and the phrase that counts a summary, for the CLI and the report page.
 */
import type { Format } from './formats.js';
import type { Image } from './image.js';
import type { ErrorCode } from './messages.js';

export interface Shard {
  /** From 1, like vitest's and node --test's `--shard`. */
  index: number;
  count: number;
}

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
  /** With `error`: true when its cause may pass (a full disk, an I/O error, a process killed for memory): a retry may succeed. */
  transient?: boolean;
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

export interface UpscaleSummary {
  total: number;
  ok: number;
  skipped: number;
  failed: number;
  planned: number;
  /** Inputs never started because the run was interrupted. */
  notStarted: number;
  /** Walked files not taken as inputs: earlier outputs beside their inputs (`cat-x4.png` beside `cat.png`). */
  earlierOutputs: number;
  interrupted: boolean;
  model: string;
  scale: number;
  device: string;
  /** The network's precision (see FileResult.precision for 16-bit images under int8); absent for the baselines. */
  precision?: string;
  ms: number;
  /** With --shard: which share of the inputs this run took; the counts above are this share's. */
  shard?: Shard;
}

export interface UpscaleReport {
  files: FileResult[];
  summary: UpscaleSummary;
}

/** A planned batch: every input with its output, in order, the walked files left out, and what runs them. */
export interface Batch {
  /** With a shard, only its share. */
  files: { input: string; output: string }[];
  earlierOutputs: number;
  /** The walked files left out as earlier outputs, each with the input whose output it is. */
  earlierOutputFiles: { file: string; input: string }[];
  model: string;
  scale: number;
  device: string;
  precision?: string;
  shard?: Shard;
}

/** Progress of a batch, in this order: one `plan`, then per image `start`, `tile`s and `done`. */
export type UpscaleEvent =
  /** Once the batch is planned, before any image starts: what `summary` will count. */
  | ({ type: 'plan' } & Batch)
  /**
   * An image is decoded and its pixel work begins; then after each tile of every pass. A video's also count its
   * frames written (a `tile` after each frame).
   */
  | { type: 'start' | 'tile'; input: string; tilesDone: number; tilesTotal: number; framesDone?: number; framesTotal?: number }
  /** An image is finished, whether or not it got as far as `start`: `result` is its entry in `files`; absent if it was interrupted. */
  | { type: 'done'; input: string; result?: FileResult };

/** "3 upscaled, 1 skipped, 2 failed" (or "3 planned" for a dry run): the summary's counts, as the CLI and the report page say them. */
export function countsPhrase(summary: UpscaleSummary): string {
  return [
    summary.planned ? `${summary.planned} planned` : `${summary.ok} upscaled`,
    summary.skipped ? `${summary.skipped} skipped` : '',
    summary.failed ? `${summary.failed} failed` : '',
    summary.notStarted ? `${summary.notStarted} not started` : '',
  ]
    .filter(Boolean)
    .join(', ');
}
