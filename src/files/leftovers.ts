/**
 * What a stop must not leave behind, in one registry for the whole process: child processes (inference sessions,
 * ffmpeg), killed when this process exits (a hard stop, a second Ctrl-C, exits mid-run, and an orphan would go on
 * working for no one), and temporary files being written, removed by `removeTemporaries` (the CLI's stop). Nothing
 * else kills a registered child, so runs sharing a process (a library caller's) never end each other's; the exit
 * listener is there only while some child is alive.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';

const children = new Set<ChildProcess>();
const temporaries = new Set<string>();

const killChildren = () => {
  for (const child of children) child.kill('SIGKILL');
};

/** Registers a child process until it exits (or fails to start). */
export function trackChild(child: ChildProcess): void {
  if (children.size === 0) process.on('exit', killChildren);
  children.add(child);
  const untrack = () => {
    if (!children.delete(child)) return;
    if (children.size === 0) process.off('exit', killChildren);
  };
  child.once('exit', untrack);
  child.once('error', untrack);
}

/**
 * Runs `work` with a temporary file at `path`, which is removed afterwards, and also by `removeTemporaries` if the
 * process is stopped first.
 */
export async function withTemporary<T>(path: string, work: () => Promise<T>): Promise<T> {
  temporaries.add(path);
  try {
    return await work();
  } finally {
    await rm(path, { force: true }).catch(() => undefined);
    temporaries.delete(path);
  }
}

/** Removes every temporary file still being written, at once: for a stop that will not wait for them. */
export function removeTemporaries(): void {
  for (const path of temporaries) rmSync(path, { force: true });
  temporaries.clear();
}
