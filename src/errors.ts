/** A bad flag value, unknown model or empty match: nothing is processed, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** One input that cannot be processed: reported, the batch goes on, exit code 1. */
export class InputError extends Error {
  override name = 'InputError';
}

/** A model file that cannot be loaded or run as an upscaler. */
export class ModelError extends Error {
  override name = 'ModelError';
}

/** Work stopped by SIGINT/SIGTERM or an AbortSignal. */
export class AbortError extends Error {
  override name = 'AbortError';
}

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof ModelError) return EXIT.usage;
  if (error instanceof AbortError) return EXIT.interrupted;
  return EXIT.failed;
}
