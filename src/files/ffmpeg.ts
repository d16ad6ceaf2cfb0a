/**
 * Finding ffmpeg and running it: the only module that starts ffmpeg processes. ffmpeg comes from the npm registry
 * with the package (@ffmpeg-installer/ffmpeg ships a static build inside its platform package's tarball, so
 * `npm install` needs nothing else); `--ffmpeg <path>` or UPSCALE_FFMPEG (read by the CLI) name another.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { inputError } from '../core/errors.js';
import { trackChild } from './leftovers.js';

const require = createRequire(import.meta.url);

/** The installed package's binary, if its platform package is there. */
function installedFfmpeg(): string | undefined {
  try {
    return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    // It throws a string when this platform has no binary package, or it was not installed.
    return undefined;
  }
}

/** Whether `path` is an executable file (for `--ffmpeg`, checked before any work). */
export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The ffmpeg to run: the one named, else the package's. Asked only when a video is met, so images never need it. */
export function findFfmpeg(named: string | undefined, input: string): string {
  const path = named ?? installedFfmpeg();
  if (path === undefined) throw inputError('noFfmpeg', input);
  return path;
}

export interface Ffmpeg {
  process: ChildProcess;
  /** Resolves when the process has exited and its output is read: the exit code and what it said on stderr. */
  exited: Promise<{ code: number | null; stderr: string }>;
}

/** Starts ffmpeg with `args`: errors only on stderr, never reading the terminal; stdin and stdout are pipes. */
export function startFfmpeg(ffmpeg: string, args: readonly string[]): Ffmpeg {
  // A process group of its own: Ctrl-C at a terminal reaches only upscale, which then stops ffmpeg itself (an ffmpeg
  // that saw the SIGINT would end its part early, and the file would fail instead of being interrupted).
  const child = spawn(ffmpeg, ['-nostdin', '-hide_banner', '-loglevel', 'error', ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  trackChild(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    // Only the tail is ever reported.
    stderr = (stderr + text).slice(-8192);
  });
  // A process that exits early closes its stdin: writes then fail with EPIPE, reported through `exited` instead.
  child.stdin!.on('error', () => undefined);
  // Exited, and all it said on stderr read; its stdout may be left unread (a run killed mid-frame).
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const stderrEnded = new Promise((ended) => child.stderr!.once('close', ended));
    const settle = (code: number | null) => {
      void stderrEnded.then(() => resolve({ code, stderr }));
    };
    child.once('error', (error) => {
      stderr += `\n${error.message}`;
      child.stderr!.destroy();
      settle(-1);
    });
    child.once('exit', (code) => settle(code));
  });
  return { process: child, exited };
}

/** The line of ffmpeg's stderr that says what went wrong: the last one, without its "[muxer @ 0x…]" prefix. */
export function ffmpegError(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, '').trim())
    .filter((line) => line !== '' && !/^(Conversion failed|Error (while|opening)|Could not write header)/.test(line));
  return lines.at(-1) ?? 'no message';
}
