/** Shared test helpers: temporary folders, pixel reading, PSNR, and the CLI run in-process. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import { afterAll } from 'vitest';
import { main } from '../src/cli/cli.js';

export const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** A temporary folder removed after the test file finishes. */
export function scratch(): string {
  const folder = mkdtempSync(join(tmpdir(), 'upscale-test-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  return folder;
}

export interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/** Decoded samples exactly as stored (no colour conversion), 8-bit unless `depth16`. */
export async function pixels(path: string | Buffer, depth16 = false): Promise<Pixels> {
  const { data, info } = await sharp(path).keepIccProfile().raw({ depth: depth16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

export function psnr(a: Pixels, b: Pixels, peak = 255): number {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new Error(`size mismatch ${a.width}x${a.height}x${a.channels} vs ${b.width}x${b.height}x${b.channels}`);
  }
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i]! - b.data[i]!) ** 2;
  const mse = sum / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `upscale …args` in-process; stdout and stderr are pipes (not TTYs), as in a script, with no environment. */
export function cli(...args: string[]): Promise<CliRun> {
  return cliWith({}, ...args);
}

/** `cli` with this environment. */
export async function cliWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  const code = await main(['node', 'upscale', ...args], { stdout, stderr, env });
  return { code, stdout: out, stderr: err };
}
