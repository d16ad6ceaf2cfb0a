import { ERROR_CODES, messages, type ErrorCode } from './messages.js';
import type { UpscaleReport } from './results.js';

/** A bad flag value, unknown model or empty match: nothing is processed, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code: ErrorCode = 'ERR_USAGE';
}

/**
 * One input that cannot be processed: reported, the batch goes on, exit code 1 (or EXIT.retry when `transient`: a
 * cause that may pass, such as a full disk). `code` is stable, for scripts.
 */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly transient = false,
  ) {
    super(message);
  }
}

/** The same error, marked as one whose cause may pass (a retry may succeed). */
export function transient(error: InputError): InputError {
  return new InputError(error.message, error.code, true);
}

/** A child process this run depends on died under it (the inference process killed for memory, say): a retry may succeed. */
export class ProcessLostError extends Error {
  override name = 'ProcessLostError';
  readonly transient = true;
}

/** A model file that cannot be loaded or run as an upscaler. */
export class ModelError extends Error {
  override name = 'ModelError';
  readonly code: ErrorCode = 'ERR_MODEL';
}

/** Work stopped by SIGINT/SIGTERM or an AbortSignal. */
export class AbortError extends Error {
  override name = 'AbortError';
  readonly code: ErrorCode = 'ERR_INTERRUPTED';
}

type Coded = keyof typeof ERROR_CODES;

/** The InputError of one catalogue message, with that message's stable code. */
export function inputError<K extends Coded>(key: K, ...args: Parameters<(typeof messages)[K]>): InputError {
  return new InputError((messages[key] as (...values: typeof args) => string)(...args), ERROR_CODES[key]);
}

/** The first line of an error's message: what a one-line report can show of a library's error. */
export function errorLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0]!.trim();
}

/**
 * The exit codes, for people and for schedulers that decide retries from them (Kubernetes podFailurePolicy, AWS Batch
 * evaluateOnExit): 1 and 2 say a retry cannot help; 75 (sysexits' EX_TEMPFAIL) and 130 say it may.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, retry: 75, interrupted: 130 } as const;

/** A batch's exit code from its report: interrupted, else any failure a retry may fix, else any failure, else 0. */
export function exitCodeForReport(report: UpscaleReport): number {
  if (report.summary.interrupted) return EXIT.interrupted;
  if (report.summary.failed === 0) return EXIT.ok;
  return report.files.some((file) => file.transient) ? EXIT.retry : EXIT.failed;
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof ModelError) return EXIT.usage;
  if (error instanceof AbortError) return EXIT.interrupted;
  if ((error instanceof InputError || error instanceof ProcessLostError) && error.transient) return EXIT.retry;
  return EXIT.failed;
}
