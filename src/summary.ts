/**
 * The report `upscale()` resolves to and `--json` prints. Built here both when a batch ends and when the CLI is
 * stopped at once mid-batch, so the two cannot differ in shape.
 */
import { ERROR_CODES, messages } from './messages.js';
import type { FileResult } from './pipeline.js';
import type { Shard } from './shard.js';

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
  model: string;
  scale: number;
  device: string;
  precision?: string;
  shard?: Shard;
}

/** The result of an image stopped before it was done: it counts as failed. */
export function interruptedResult(file: { input: string; output: string }, model: string): FileResult {
  return { input: file.input, output: file.output, status: 'error', error: messages.interruptedFile(file.input), code: ERROR_CODES.interruptedFile, model, ms: 0 };
}

/** `files`: the results of the inputs that were started, in the batch's order; the rest count as not started. */
export function makeReport(batch: Batch, files: FileResult[], interrupted: boolean, ms: number): UpscaleReport {
  const count = (status: FileResult['status']) => files.filter((f) => f.status === status).length;
  return {
    files,
    summary: {
      total: batch.files.length,
      ok: count('ok'),
      skipped: count('skipped'),
      failed: count('error'),
      planned: count('planned'),
      notStarted: batch.files.length - files.length,
      earlierOutputs: batch.earlierOutputs,
      interrupted,
      model: batch.model,
      scale: batch.scale,
      device: batch.device,
      ...(batch.precision && { precision: batch.precision }),
      ms,
      ...(batch.shard && { shard: batch.shard }),
    },
  };
}
