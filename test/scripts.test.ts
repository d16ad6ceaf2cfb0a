/** A citizen of shell scripts and CI: pipes, --files-from, machine-read progress, --version, models --json. */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { makeProgress } from '../src/cli/progress.js';
import { cli, fixtures, pixels, psnr, scratch } from './helpers.js';
import type { UpscaleEvent } from '../src/core/results.js';

const bin = join(fixtures, '..', 'bin', 'upscale.js');
const cat = join(fixtures, 'images', 'cat.png');
const catJpeg = join(fixtures, 'images', 'cat-p3.jpg');

/** The real CLI in a child process, `input` on its stdin; stdout as bytes. */
function run(args: string[], input?: Buffer, cwd?: string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    child.stdin.end(input);
  });
}

describe('pipes', () => {
  it('cat a.jpg | upscale - -o - -f png > b.png: real bytes through a child process, nothing else on stdout', async () => {
    const { code, stdout, stderr } = await run(['-', '-o', '-', '-f', 'png', '-m', 'bicubic', '-s', '2'], readFileSync(catJpeg));
    expect(code, stderr).toBe(0);
    expect(stderr).toBe('');
    const file = join(scratch(), 'reference.png');
    await cli(catJpeg, '-o', file, '-m', 'bicubic', '-s', '2');
    expect(stdout.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(psnr(await pixels(stdout), await pixels(file))).toBe(Infinity);
  });

  it('a file to stdout, and stdin to a file (format from its extension)', async () => {
    const toStdout = await run([cat, '-o', '-', '-f', 'webp', '-m', 'nearest']);
    expect(toStdout.code, toStdout.stderr).toBe(0);
    expect(await sharp(toStdout.stdout).metadata()).toMatchObject({ format: 'webp', width: 192, height: 160 });
    const folder = scratch();
    const fromStdin = await run(['-', '-o', 'big.jpg', '-m', 'nearest', '-s', '2'], readFileSync(cat), folder);
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(fromStdin.stdout.toString()).toBe('stdin → big.jpg (48x40 → 96x80)\n');
    expect(await sharp(join(folder, 'big.jpg')).metadata()).toMatchObject({ format: 'jpeg', width: 96, height: 80 });
  });

  it('pipe mistakes are usage errors; a bad image on stdin is one line and exit 1', async () => {
    expect((await run(['-', '-o', '-'], readFileSync(cat))).stderr).toBe('upscale: -o - writes the image to stdout and needs its format: add -f png, jpeg, webp, avif, tiff or gif\n');
    expect((await run(['-'], readFileSync(cat))).stderr).toBe('upscale: - reads one image from stdin and needs somewhere to write it: -o <file> or -o - (stdout)\n');
    expect((await run([cat, catJpeg, '-o', '-', '-f', 'png'])).stderr).toBe('upscale: - (stdin) and -o - (stdout) carry one image, but 2 inputs were given\n');
    const json = await run([cat, '-o', '-', '-f', 'png', '--json']);
    expect([json.code, json.stderr]).toEqual([2, 'upscale: -o - and --json cannot be used together\n']);
    const bad = await run(['-', '-o', '-', '-f', 'png', '-m', 'nearest'], Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'));
    expect([bad.code, bad.stdout.length, bad.stderr]).toEqual([1, 0, `upscale: stdin: not a supported image (its content is svg); supported: jpeg, png, webp, avif, tiff, gif; videos: mp4, m4v, mov, mkv, webm, avi\n`]);
  });
});

describe('--files-from', () => {
  it('reads paths one per line from a file, or NUL-separated from stdin', async () => {
    const root = scratch();
    const names = ['a b.png', 'c\nd.png'];
    for (const name of names) copyFileSync(cat, join(root, name));
    const list = join(root, 'list.txt');
    writeFileSync(list, `${join(root, 'a b.png')}\n\n`);
    const fromFile = await cli('--files-from', list, '-o', scratch(), '-m', 'nearest', '--json');
    expect(JSON.parse(fromFile.stdout).files.map((f: { input: string }) => f.input)).toEqual([join(root, 'a b.png')]);
    const out = scratch();
    const nul = await run(['--files-from', '-', '--null', '-o', out, '-m', 'nearest', '--json'], Buffer.from(names.map((n) => `${join(root, n)}\0`).join('')));
    expect(nul.code, nul.stderr).toBe(0);
    expect(JSON.parse(nul.stdout.toString()).summary.ok).toBe(2);
    const missing = await cli('--files-from', join(root, 'nope.txt'), '-m', 'nearest');
    expect([missing.code, missing.stderr]).toEqual([2, `upscale: --files-from ${join(root, 'nope.txt')}: cannot read (no such file, or a broken link)\n`]);
  });
});

describe('--files-from and --base: a list mirrors below its common folder', () => {
  it('files of the same name in different folders keep their folders under -o, as a walk would', async () => {
    const root = scratch();
    for (const folder of ['shots/a', 'shots/b/deep']) mkdirSync(join(root, folder), { recursive: true });
    const listed = ['shots/a/x.png', 'shots/b/x.png', 'shots/b/deep/y.png'].map((rel) => join(root, rel));
    for (const path of listed) copyFileSync(cat, path);
    const out = scratch();
    const list = await run(['--files-from', '-', '--null', '-o', out, '-m', 'nearest', '-s', '1', '--json'], Buffer.from(listed.map((p) => `${p}\0`).join('')));
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout.toString()).files.map((f: { output: string }) => f.output)).toEqual([join(out, 'a', 'x.png'), join(out, 'b', 'x.png'), join(out, 'b', 'deep', 'y.png')]);
    // --base says it for files named on the command line; without it each file goes by its name.
    const based = await cli(listed[1]!, listed[2]!, '--base', join(root, 'shots'), '-o', scratch(), '-m', 'nearest', '-s', '1', '--dry-run', '--json');
    expect(JSON.parse(based.stdout).files.map((f: { output: string }) => f.output.split('/').slice(-3).join('/'))).toEqual([expect.stringMatching(/\/b\/x\.png$/), 'b/deep/y.png']);
    const flat = await cli(listed[0]!, listed[1]!, '-o', scratch(), '-m', 'nearest', '-s', '1', '--json');
    expect(JSON.parse(flat.stdout).files.map((f: { code?: string }) => f.code)).toEqual(['ERR_OUTPUT_COLLISION', 'ERR_OUTPUT_COLLISION']);
  });
});

describe('progress', () => {
  it('--progress json: one object per line on stderr (start, tile, file, summary) with counts, bytes and estimates', async () => {
    const root = scratch();
    copyFileSync(cat, join(root, 'a.png'));
    copyFileSync(catJpeg, join(root, 'b.jpg'));
    const { code, stderr, stdout } = await run([root, '-o', scratch(), '-m', 'nearest', '--progress', 'json', '-j', '1']);
    expect(code).toBe(0);
    const lines = stderr.trim().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(lines.map((l) => l.event)).toEqual(['start', 'tile', 'file', 'start', 'tile', 'file', 'summary']);
    expect(lines[2]).toMatchObject({ event: 'file', status: 'ok', done: 1, total: 2, bytes: expect.any(Number), etaMs: expect.any(Number) });
    expect(lines[5]).toMatchObject({ done: 2, total: 2, etaMs: 0 });
    expect(lines[6]).toMatchObject({ event: 'summary', ok: 2, total: 2 });
    expect(stdout.toString()).toContain('✔');
  });

  it('--progress json: every stderr line is one JSON object, notices, failures and usage errors included', async () => {
    const root = scratch();
    copyFileSync(cat, join(root, 'a.png'));
    writeFileSync(join(root, 'b.png'), 'not an image');
    const batch = await run([root, '-o', scratch(), '-m', 'realesr-animevideov3', '-s', '2', '--progress', 'json', '-j', '1']);
    expect(batch.code).toBe(1);
    const lines = batch.stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ event: 'notice', message: expect.stringMatching(/^upscale: using cpu, fp32/) });
    expect(lines.find((l) => l.event === 'file' && l.status === 'error')).toMatchObject({ input: join(root, 'b.png'), code: 'ERR_INPUT_FORMAT', error: expect.stringContaining('b.png') });
    expect(lines.at(-1)).toMatchObject({ event: 'summary', ok: 1, failed: 1 });
    const usage = await run([cat, '-s', 'abc', '--progress', 'json']);
    expect([usage.code, usage.stderr]).toEqual([2, `${JSON.stringify({ event: 'error', code: 'ERR_USAGE', message: 'Expected number between 1 and 16 for --scale but received "abc"' })}\n`]);
    const unknown = await run([cat, '--frobnicate', '--progress=json']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stderr)).toMatchObject({ event: 'error', code: 'ERR_USAGE', message: expect.stringContaining('--frobnicate') });
  });

  it("each file's line is written as it finishes, not when the batch ends", async () => {
    const root = scratch();
    for (const name of ['a.png', 'b.png', 'c.png']) copyFileSync(join(fixtures, 'golden', 'chelsea-96.png'), join(root, name));
    const child = spawn(process.execPath, [bin, root, '-o', scratch(), '-m', 'realesr-general-x4v3', '-j', '1', '--progress', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const arrivals: { at: number; text: string }[] = [];
    child.stdout.on('data', (chunk: Buffer) => arrivals.push({ at: performance.now(), text: chunk.toString() }));
    const exited = new Promise<number>((resolve) => child.on('close', () => resolve(performance.now())));
    const end = await exited;
    const lines = arrivals.flatMap(({ at, text }) => text.trimEnd().split('\n').map((line) => ({ at, line })));
    expect(lines.map((l) => l.line.slice(0, 2))).toEqual(['✔ ', '✔ ', '✔ ']);
    // Each image takes a network pass of its own: the lines come apart, the first long before the process ends.
    expect(lines[1]!.at - lines[0]!.at).toBeGreaterThan(50);
    expect(lines[2]!.at - lines[1]!.at).toBeGreaterThan(50);
    expect(end - lines[0]!.at).toBeGreaterThan(100);
  });

  it('in a log (not a terminal): a plain line every few seconds for a long image, no carriage return or colour', () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk) => (text += chunk));
    let clock = 0;
    const progress = makeProgress('auto', stream, () => clock);
    const events: [number, UpscaleEvent][] = [
      [0, { type: 'start', input: 'big.png', tilesDone: 0, tilesTotal: 10 }],
      [1000, { type: 'tile', input: 'big.png', tilesDone: 1, tilesTotal: 10 }],
      [6000, { type: 'tile', input: 'big.png', tilesDone: 4, tilesTotal: 10 }],
      [7000, { type: 'tile', input: 'big.png', tilesDone: 5, tilesTotal: 10 }],
      [12000, { type: 'tile', input: 'big.png', tilesDone: 8, tilesTotal: 10 }],
      [15000, { type: 'tile', input: 'big.png', tilesDone: 10, tilesTotal: 10 }],
    ];
    for (const [at, event] of events) (clock = at), progress.onEvent(event);
    expect(text).toBe('big.png: 4/10 tiles, about 9 s left\nbig.png: 8/10 tiles, about 3 s left\n');
  });
});

describe('the overall bar on a terminal', () => {
  it('counts images against the batch size (it read 2/1, 3/1 before)', async () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 100, cursorTo: () => true, moveCursor: () => true, clearLine: () => true });
    let text = '';
    stream.on('data', (chunk) => (text += chunk));
    const progress = makeProgress('auto', stream);
    progress.onEvent({ type: 'plan', files: [1, 2, 3].map((i) => ({ input: `${i}.png`, output: `out/${i}.png` })), earlierOutputs: 0, earlierOutputFiles: [], model: 'nearest', scale: 4, device: 'cpu' });
    for (const i of [1, 2, 3]) progress.onEvent({ type: 'done', input: `${i}.png` });
    await new Promise((resolve) => setTimeout(resolve, 150));
    progress.finish();
    expect(text).toContain('3/3 images');
    expect(text).not.toMatch(/\d\/1 images/);
  });
});

describe('small things scripts rely on', () => {
  it('--version prints the package version', async () => {
    const version = (JSON.parse(readFileSync(join(fixtures, '..', 'package.json'), 'utf8')) as { version: string }).version;
    expect((await cli('--version')).stdout).toBe(`${version}\n`);
  });

  it('models --json lists the baselines -m accepts, with null where a field does not apply', async () => {
    const { models } = JSON.parse((await cli('models', '--json')).stdout);
    expect(models.filter((m: { architecture: string }) => m.architecture === 'interpolation')).toEqual(
      ['nearest', 'bilinear', 'bicubic'].map((name) => expect.objectContaining({ name, scale: 4, parameters: null, licence: null, source: null })),
    );
  });
});
