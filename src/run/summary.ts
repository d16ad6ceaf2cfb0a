/**
 * The report `upscale()` resolves to and `--json` prints. Built here both when a batch ends and when the CLI is
 * stopped at once mid-batch, so the two cannot differ in shape.
 */
import { ERROR_CODES, messages } from '../core/messages.js';
import type { Batch, FileResult, UpscaleReport } from '../core/results.js';

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
