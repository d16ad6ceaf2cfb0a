/**
 * `--shard i/n`: one worker's share of a batch that n machines run with the same command. The inputs are sorted by
 * their path as given, compared code unit by code unit with `/` as the separator (not in the locale's order, in which
 * a shell expands globs), and dealt round-robin: the r-th (from 0) goes to shard r mod n + 1. Dealing rather than
 * cutting the list into runs spreads a folder of large files over every shard. Outputs are planned over the whole
 * list before it is dealt, so every shard refuses the same collisions.
 */
import { sep } from 'node:path';
import type { Shard } from '../core/results.js';

/** The most shards: above what Kubernetes (100,000 completions), AWS Batch and Cloud Run (10,000) run. */
export const MAX_SHARDS = 100_000;

export interface ShardEnvironment {
  engine: string;
  index: string;
  count?: string;
}

/**
 * Where `--shard auto` finds this worker's index (from 0 on every engine) and the shard count, looked for in this
 * order. A Kubernetes Indexed Job gives no count: `--shard-count` or UPSCALE_SHARD_COUNT says it.
 */
export const SHARD_ENVIRONMENTS: readonly ShardEnvironment[] = [
  { engine: 'Kubernetes Indexed Job', index: 'JOB_COMPLETION_INDEX' },
  { engine: 'AWS Batch array job', index: 'AWS_BATCH_JOB_ARRAY_INDEX', count: 'AWS_BATCH_JOB_ARRAY_SIZE' },
  { engine: 'Cloud Run job', index: 'CLOUD_RUN_TASK_INDEX', count: 'CLOUD_RUN_TASK_COUNT' },
];

/** The shard count as an environment variable: for engines that set none (Kubernetes); checked against those that do. */
export const SHARD_COUNT_VARIABLE = 'UPSCALE_SHARD_COUNT';

/** The files of `shard`, in their order in `files`. */
export function shareOf<T extends { input: string }>(files: readonly T[], shard: Shard): T[] {
  const key = (file: T) => file.input.split(sep).join('/');
  // Ties (one path given twice) keep the order of `files`, which the same command makes the same everywhere.
  const ranked = files.map((_, i) => i).sort((a, b) => compareCodeUnits(key(files[a]!), key(files[b]!)) || a - b);
  const mine = new Set(ranked.filter((_, rank) => rank % shard.count === shard.index - 1));
  return files.filter((_, i) => mine.has(i));
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
