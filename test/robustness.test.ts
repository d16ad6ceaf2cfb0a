/** Bad input, files that must never be clobbered, and interrupted batches: the promises of README "Safety". */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseNcnn } from '../src/convert/ncnn.js';
import { ncnnToOnnx } from '../src/convert/onnx.js';
import { EXIT, exitCodeForReport } from '../src/core/errors.js';
import { messages } from '../src/core/messages.js';
import { cli, fixtures, scratch, type CliRun } from './helpers.js';

const cat = join(fixtures, 'images', 'cat.png');
const catJpeg = join(fixtures, 'images', 'cat-p3.jpg');

/**
 * The CLI in a child process that is root without the capabilities that let root read any file (setpriv, from
 * util-linux): a mode-0 file is then unreadable to it, while the checkout stays readable wherever it lies.
 */
async function cliWithoutReadOverride(args: string[]): Promise<CliRun> {
  const script = `const { runProcess } = await import(process.argv[1]); process.exitCode = await runProcess(['node', 'upscale', ...process.argv.slice(2)]);`;
  const caps = '-dac_override,-dac_read_search';
  const child = spawn('setpriv', [`--inh-caps=${caps}`, `--bounding-set=${caps}`, process.execPath, '--input-type=module', '-e', script, join(fixtures, '..', 'dist', 'cli', 'cli.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
  return { code, stdout, stderr };
}

const root = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;

function crc32(bytes: Buffer): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid PNG header declaring width × height, with a token of compressed data: a decompression bomb. */
function bombPng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A tiny ONNX made with the project's converter from a hand-written ncnn graph (float32 weights, tag 0). */
function onnxFrom(layers: string[], weights: number[]): Buffer {
  const blobs = new Set(layers.flatMap((l) => l.trim().split(/\s+/).slice(4)).filter((t) => !t.includes('=')));
  const param = `7767517\n${layers.length} ${blobs.size}\n${layers.join('\n')}\n`;
  const bin = Buffer.alloc(weights.length * 4);
  weights.forEach((w, i) => bin.writeFloatLE(w, i * 4));
  return Buffer.from(ncnnToOnnx(parseNcnn(param, bin)));
}

const identity3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

describe('bad input: one clear line, the batch goes on, exit 1', () => {
  it('empty, truncated, text-as-png, unknown format and bomb files each fail alone', async () => {
    const root = scratch();
    const files: Record<string, Buffer> = {
      'empty.png': Buffer.alloc(0),
      'truncated.jpg': readFileSync(catJpeg).subarray(0, 1200),
      'truncated.png': readFileSync(cat).subarray(0, 3000),
      'text.png': Buffer.from('definitely not an image\n'),
      'unknown.tif': Buffer.from('II*\u0000garbage that is not a TIFF directory'),
      'bomb.png': bombPng(100000, 100000),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(root, name), bytes);
    copyFileSync(cat, join(root, 'good.png'));
    const out = scratch();
    const run = await cli(root, '-o', out, '-m', 'nearest', '--json');
    expect(run.code).toBe(1);
    const byName = Object.fromEntries(JSON.parse(run.stdout).files.map((f: { input: string }) => [f.input.split('/').pop(), f]));
    expect(byName['good.png'].status).toBe('ok');
    const errors = Object.fromEntries(Object.keys(files).map((name) => [name, byName[name].error]));
    expect(errors).toEqual({
      'empty.png': `${join(root, 'empty.png')}: file is empty`,
      'truncated.jpg': expect.stringMatching(/truncated\.jpg: cannot decode image \(.*premature end of JPEG.*\); the file may be truncated or corrupt$/),
      'truncated.png': expect.stringMatching(/truncated\.png: cannot decode image \(.*\); the file may be truncated or corrupt$/),
      'text.png': `${join(root, 'text.png')}: not a supported image (unknown format); supported: jpeg, png, webp, avif, tiff, gif; videos: mp4, m4v, mov, mkv, webm, avi`,
      'unknown.tif': expect.stringMatching(/unknown\.tif: (cannot decode image|not a supported image)/),
      'bomb.png': `${join(root, 'bomb.png')}: 100000x100000 is 10000000000 pixels, over the limit of 100000000; raise it with --max-pixels if the image is genuine`,
    });
    // stderr: exactly one line per bad file, no stack traces.
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(out)).toEqual(['good.png']);
  });

  it('--max-pixels lowers or raises the limit', async () => {
    const run = await cli(cat, '-o', scratch(), '-m', 'nearest', '--max-pixels', '1000');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('48x40 is 1920 pixels, over the limit of 1000; raise it with --max-pixels');
  });

  it('an output larger than its format allows is refused before the work, suggesting png or tiff', async () => {
    const big = join(scratch(), 'wide.png');
    await sharp({ create: { width: 2100, height: 2, channels: 3, background: '#808080' } }).png().toFile(big);
    const run = await cli(big, '-o', scratch(), '-m', 'nearest', '-s', '8', '-f', 'webp');
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')[0]).toBe(`${big}: output 16800x16 exceeds WEBP's limit of 16383 px per side; use --format png or tiff, or a smaller --scale`);
  });

  it('a broken link in a folder and an output folder that cannot be created name the path', async () => {
    const root = scratch();
    copyFileSync(cat, join(root, 'good.png'));
    symlinkSync(join(root, 'gone.png'), join(root, 'broken.png'));
    const run = await cli(root, '-o', join(scratch(), 'out'), '-m', 'nearest', '--json');
    const broken = JSON.parse(run.stdout).files.find((f: { input: string }) => f.input.endsWith('broken.png'));
    expect(broken.error).toBe(`${join(root, 'broken.png')}: broken link (its target ${join(root, 'gone.png')} does not exist)`);
    const blocker = join(scratch(), 'file');
    writeFileSync(blocker, 'a file where a folder should be');
    const blocked = await cli(cat, '-o', join(blocker, 'out.png'), '-m', 'nearest');
    expect(blocked.code).toBe(1);
    expect(blocked.stderr.split('\n')[0]).toBe(
      `${cat}: cannot write ${join(blocker, 'out.png')} (a parent of the path is a file, not a folder); check the folder exists and is writable, and that the disk has space`,
    );
  });

  it.skipIf(root && !hasSetpriv)('unreadable input (permissions) names the file (as root: needs setpriv, from util-linux)', async () => {
    const folder = scratch();
    const out = scratch();
    const locked = join(folder, 'locked.png');
    copyFileSync(cat, locked);
    chmodSync(locked, 0);
    const args = [locked, '-o', out, '-m', 'nearest'];
    const run = root ? await cliWithoutReadOverride(args) : await cli(...args);
    chmodSync(locked, 0o644);
    expect(run.stderr.split('\n')[0]).toBe(`${locked}: cannot read (permission denied); check the path and its permissions`);
    expect(run.code).toBe(1);
  });

  it.runIf(process.getuid?.() === 0)('disk full (ENOSPC): the error names the path, nothing partial remains, and the exit code says a retry may help (root: mounts a tmpfs)', async () => {
    const mountPoint = scratch();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', mountPoint]);
    try {
      // A photo enlarged 4× by bicubic compresses to far more than the 16 KiB the file system holds.
      const run = await cli(join(fixtures, 'golden', 'chelsea-96.png'), '-o', join(mountPoint, 'cat.png'), '-m', 'bicubic');
      expect(run.code).toBe(EXIT.retry);
      expect(run.stderr.split('\n')[0]).toBe(
        `${join(fixtures, 'golden', 'chelsea-96.png')}: cannot write ${join(mountPoint, 'cat.png')} (disk full); check the folder exists and is writable, and that the disk has space`,
      );
      expect(readdirSync(mountPoint)).toEqual([]);
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });
});

describe('exit codes a scheduler can act on', () => {
  const report = (files: { status: 'ok' | 'error' | 'skipped'; transient?: boolean }[], interrupted = false) => ({
    files: files.map((f, i) => ({ input: `${i}.png`, output: `out/${i}.png`, model: 'nearest', ms: 0, ...f })),
    summary: {
      total: files.length,
      ok: files.filter((f) => f.status === 'ok').length,
      skipped: files.filter((f) => f.status === 'skipped').length,
      failed: files.filter((f) => f.status === 'error').length,
      planned: 0,
      notStarted: 0,
      earlierOutputs: 0,
      interrupted,
      model: 'nearest',
      scale: 4,
      device: 'cpu',
      ms: 0,
    },
  });
  it.each([
    ['all done', report([{ status: 'ok' }, { status: 'skipped' }]), 0],
    ['a file that will fail again (undecodable, output exists)', report([{ status: 'ok' }, { status: 'error' }]), 1],
    ['a failure whose cause may pass (disk full, a process killed for memory)', report([{ status: 'error' }, { status: 'error', transient: true }]), 75],
    ['interrupted, whatever failed', report([{ status: 'error', transient: true }], true), 130],
  ])('%s: %i', (_, batch, code) => {
    expect(exitCodeForReport(batch)).toBe(code);
  });

  it('each code of the README table is the code the CLI uses', () => {
    const readme = readFileSync(join(fixtures, '..', 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('### Exit codes'), readme.indexOf('## Seeing the result'));
    const codes = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(codes).toEqual(Object.values(EXIT));
  });

  it('an undecodable input: 1; a usage error: 2', async () => {
    const folder = scratch();
    writeFileSync(join(folder, 'bad.png'), 'not an image');
    expect((await cli(join(folder, 'bad.png'), '-o', scratch(), '-m', 'nearest')).code).toBe(EXIT.failed);
    expect((await cli(cat, '-s', 'abc')).code).toBe(EXIT.usage);
  });
});

describe('custom --model files: usage errors (exit 2) that say which', () => {
  const folder = scratch();
  const model = (name: string, bytes: Buffer | string) => {
    writeFileSync(join(folder, name), bytes);
    return join(folder, name);
  };

  it('a file that is not ONNX', async () => {
    const path = model('text.onnx', 'not a protobuf');
    const run = await cli(cat, '-m', path, '-o', scratch());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^upscale: --model ${path}: not a loadable ONNX model \\(.+\\)\\n$`));
  });

  it('an input that is not [1,3,H,W]', async () => {
    const path = model('grey-in.onnx', onnxFrom(['Input data 0 1 data 0=8 1=8 2=1', 'Convolution conv 1 1 data output 0=3 1=1 5=0 6=3'], [0, 1, 1, 1]));
    const run = await cli(cat, '-m', path, '-o', scratch());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^upscale: --model .*grey-in\.onnx: expected one float32 input of shape \[1,3,H,W\] but the model takes float32 \[1,1,/);
  });

  it('a scale that is not a whole number', async () => {
    const path = model('x1.5.onnx', onnxFrom(['Input data 0 1 data', 'Convolution conv 1 1 data c0 0=3 1=1 5=0 6=9', 'Interp up 1 1 c0 output 0=2 1=1.5 2=1.5'], [0, ...identity3]));
    const run = await cli(cat, '-m', path, '-o', scratch());
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`upscale: --model ${path}: output is not a whole-number multiple of the input (ratio 1.5 x 1.5)\n`);
  });

  it('a valid custom model runs, its scale found by a probe', async () => {
    const path = model('nearest-x2.onnx', onnxFrom(['Input data 0 1 data', 'Convolution conv 1 1 data c0 0=3 1=1 5=0 6=9', 'Interp up 1 1 c0 output 0=1 1=2 2=2'], [0, ...identity3]));
    const out = scratch();
    const run = await cli(cat, '-m', path, '-o', out, '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).summary.scale).toBe(2);
    expect(await sharp(join(out, 'cat.png')).metadata()).toMatchObject({ width: 96, height: 80 });
  });
});

describe('files are sacred', () => {
  it('an output that resolves to an input is refused, also through .. and symbolic links', async () => {
    const root = scratch();
    const input = join(root, 'a', 'cat.png');
    mkdirSync(join(root, 'a'));
    copyFileSync(cat, input);
    symlinkSync(join(root, 'a'), join(root, 'alias'));
    const before = readFileSync(input);
    for (const output of [input, join(root, 'a', '..', 'a', 'cat.png'), join(root, 'alias', 'cat.png')]) {
      const run = await cli(input, '-o', output, '-m', 'nearest', '--overwrite');
      expect(run.code, output).toBe(2);
      expect(run.stderr).toBe(`upscale: ${input}: the output path is the input itself; choose another --output or --format (inputs are never modified)\n`);
    }
    const folderRun = await cli(join(root, 'a'), '-o', join(root, 'alias'), '-m', 'nearest', '--overwrite');
    expect(folderRun.code).toBe(2);
    expect(readFileSync(input).equals(before)).toBe(true);
  });

  it('inputs whose outputs collide each fail with both names; the rest of the batch runs (exit 1)', async () => {
    const root = scratch();
    copyFileSync(cat, join(root, 'a.png'));
    copyFileSync(catJpeg, join(root, 'a.jpg'));
    copyFileSync(cat, join(root, 'b.png'));
    const out = scratch();
    const run = await cli(root, '-o', out, '-f', 'webp', '-m', 'nearest');
    expect(run.code).toBe(1);
    const [jpg, png] = [join(root, 'a.jpg'), join(root, 'a.png')];
    const target = join(out, 'a.webp');
    expect(run.stderr.split('\n').slice(0, 2)).toEqual([
      `${jpg}: ${png} would be written to the same ${target}; neither is written: process one of them with another --output`,
      `${png}: ${jpg} would be written to the same ${target}; neither is written: process one of them with another --output`,
    ]);
    expect(readdirSync(out)).toEqual(['b.webp']);
  });

  it('a gif beside a png of the same name, both written as png, no longer stops the batch', async () => {
    const root = scratch();
    await sharp(cat).gif().toFile(join(root, 'x.gif'));
    copyFileSync(cat, join(root, 'x.png'));
    copyFileSync(cat, join(root, 'y.png'));
    const out = scratch();
    const run = await cli(root, '-o', out, '-m', 'nearest', '-f', 'png', '--json');
    expect(run.code).toBe(1);
    const statuses = JSON.parse(run.stdout).files.map((f: { input: string; status: string }) => [f.input.split('/').pop(), f.status]);
    expect(statuses).toEqual([['x.gif', 'error'], ['x.png', 'error'], ['y.png', 'ok']]);
  });

  it('outputs written below an input folder are not taken for inputs on the next run', async () => {
    const root = scratch();
    copyFileSync(cat, join(root, 'cat.png'));
    await cli(root, '-o', join(root, 'big'), '-m', 'nearest');
    const again = await cli(root, '-o', join(root, 'big'), '-m', 'nearest', '--skip-existing', '--json');
    expect(JSON.parse(again.stdout).files.map((f: { input: string }) => f.input)).toEqual([join(root, 'cat.png')]);
  });

  it('walks survive symbolic-link loops and follow links to files once', async () => {
    const root = scratch();
    mkdirSync(join(root, 'a'));
    copyFileSync(cat, join(root, 'a', 'cat.png'));
    symlinkSync('..', join(root, 'a', 'up'));
    symlinkSync(join(root, 'a', 'cat.png'), join(root, 'link.png'));
    const run = await cli(root, '-o', scratch(), '-m', 'nearest', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).summary.total).toBe(1);
  });

  it('no temporary files remain after success or failure', async () => {
    const out = scratch();
    await cli(cat, '-o', out, '-m', 'nearest');
    await cli(cat, '-o', out, '-m', 'nearest');
    expect(readdirSync(out)).toEqual(['cat.png']);
  });
});

describe('interrupted batches', () => {
  const bin = join(fixtures, '..', 'bin', 'upscale.js');

  function batch(count: number): string {
    const root = scratch();
    for (let i = 0; i < count; i++) copyFileSync(join(fixtures, 'golden', 'coffee-64.png'), join(root, `img${i}.png`));
    return root;
  }

  /** `detached`: the CLI leads its own process group, so a signal can go to the group, as a terminal or CI runner sends it. */
  function start(args: string[], detached = false) {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached });
    // A test that fails before its signal must not leave the batch running (detached, nothing else would end it).
    onTestFinished(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exit = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
    // The inference process shares the CLI's stderr: the pipe closes once both have ended.
    const stderrClosed = (ms: number) =>
      new Promise<boolean>((resolve) => {
        if (child.stderr.closed) resolve(true);
        child.stderr.on('close', () => resolve(true));
        setTimeout(() => resolve(false), ms).unref();
      });
    // Once stdout has closed, every byte the CLI wrote there has been read.
    const stdoutClosed = new Promise((resolve) => child.stdout.on('close', resolve));
    return { child, exit, stderr: () => stderr, stderrClosed, stdout: () => stdout, stdoutClosed };
  }

  async function waitFor(condition: () => boolean, ms: number) {
    const until = Date.now() + ms;
    while (!condition() && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  }

  function outputsAreComplete(out: string) {
    const names = readdirSync(out);
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    return Promise.all(names.map((n) => sharp(join(out, n)).metadata().then((m) => expect([256, 384]).toContain(m.width))));
  }

  it('SIGINT stops new work, finishes or abandons what is in flight, exits 130 with no partial files', async () => {
    const input = batch(6);
    const out = scratch();
    const run = start([input, '-o', out, '-m', 'realesrgan-x4plus', '--tile', '16', '-j', '1']);
    // The device line comes once the model is loaded and the handlers are in place.
    await waitFor(() => run.stderr().includes('using'), 30000);
    expect(run.stderr()).toContain('using');
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    run.child.kill('SIGINT');
    expect(await run.exit, run.stderr()).toBe(130);
    expect(Date.now() - started).toBeLessThan(4000);
    // It says what it does: images in flight are abandoned at their next tile, within the grace it names.
    expect(run.stderr()).toContain(messages.interrupted(2));
    if (existsSync(out)) {
      expect(readdirSync(out).length).toBeLessThan(6);
      await outputsAreComplete(out);
    }
  });

  it('a second signal exits at once, mid-run, still without partial files', async () => {
    // Whole 96×96 images through x4plus: each forward pass takes seconds, so the second signal lands mid-run.
    const input = scratch();
    for (let i = 0; i < 4; i++) copyFileSync(join(fixtures, 'golden', 'coffee-96.png'), join(input, `img${i}.png`));
    const out = scratch();
    const run = start([input, '-o', out, '-m', 'realesrgan-x4plus', '--tile', '0', '-j', '1']);
    await waitFor(() => run.stderr().includes('using'), 30000);
    expect(run.stderr()).toContain('using');
    // Let the first forward pass start (it takes seconds), then interrupt it twice.
    await new Promise((r) => setTimeout(r, 500));
    run.child.kill('SIGINT');
    await waitFor(() => run.stderr().includes('Interrupted'), 5000);
    const started = Date.now();
    run.child.kill('SIGTERM');
    expect(await run.exit, run.stderr()).toBe(130);
    expect(Date.now() - started).toBeLessThan(1000);
    // Its inference process was killed too, rather than left to finish a forward pass for no one.
    expect(await run.stderrClosed(3000)).toBe(true);
    expect(run.stderr()).not.toMatch(/upscaled/);
    if (existsSync(out)) await outputsAreComplete(out);
  });

  it('a CLI killed outright leaves an inference process that ends quietly', async () => {
    const input = batch(6);
    const run = start([input, '-o', scratch(), '-m', 'realesrgan-x4plus', '--tile', '16', '-j', '1']);
    await waitFor(() => run.stderr().includes('using'), 30000);
    expect(run.stderr()).toContain('using');
    await new Promise((r) => setTimeout(r, 300));
    // Only the CLI: the orphaned inference process still holds the stderr pipe, and ends after its forward pass.
    run.child.kill('SIGKILL');
    expect(await run.stderrClosed(20000), run.stderr()).toBe(true);
    expect(run.stderr()).not.toMatch(/Error|^\s+at /m);
  });

  /**
   * A small image that finishes, then large ones whose single forward pass (x4plus, whole image) lasts far longer
   * than the 2 s grace period, so an interrupt lands mid-pass. Resolves once the small one is written.
   */
  async function midPass(extra: string[]) {
    const input = scratch();
    const coffee = join(fixtures, 'golden', 'coffee-96.png');
    await sharp(coffee).resize(24, 24).toFile(join(input, 'a.png'));
    for (const name of ['b.png', 'c.png']) await sharp(coffee).resize(224, 224).toFile(join(input, name));
    const out = scratch();
    const run = start([input, '-o', out, '-m', 'realesrgan-x4plus', '--tile', '0', '-j', '1', '--json', ...extra]);
    await waitFor(() => existsSync(join(out, 'a.png')), 60000);
    expect(existsSync(join(out, 'a.png')), run.stderr()).toBe(true);
    // b.png is decoded and its forward pass under way well within this.
    await new Promise((r) => setTimeout(r, 500));
    return { run, input, out };
  }

  /** The one JSON document on stdout after an interrupt mid-pass: a.png done, b.png cut off, c.png never started. */
  function expectInterruptedReport(stdout: string, input: string, out: string) {
    const report = JSON.parse(stdout);
    expect(report.files).toEqual([
      expect.objectContaining({ input: join(input, 'a.png'), output: join(out, 'a.png'), status: 'ok', outWidth: 96 }),
      expect.objectContaining({ input: join(input, 'b.png'), output: join(out, 'b.png'), status: 'error', error: `${join(input, 'b.png')}: interrupted` }),
    ]);
    expect(report.summary).toMatchObject({ total: 3, ok: 1, failed: 1, notStarted: 1, interrupted: true, model: 'realesrgan-x4plus', scale: 4, device: 'cpu' });
  }

  it('--json: when the grace period runs out mid-pass, the report of what finished is still printed, then exit 130', async () => {
    const { run, input, out } = await midPass([]);
    const started = Date.now();
    run.child.kill('SIGINT');
    expect(await run.exit, run.stderr()).toBe(130);
    // The pass outlasts the grace period: this is the hard exit, not the batch finishing by itself.
    expect(Date.now() - started).toBeGreaterThan(1500);
    await run.stdoutClosed;
    expectInterruptedReport(run.stdout(), input, out);
  });

  it('--json: a second signal mid-pass still prints exactly one JSON report', async () => {
    const { run, input, out } = await midPass([]);
    run.child.kill('SIGINT');
    await waitFor(() => run.stderr().includes('Interrupted'), 5000);
    const started = Date.now();
    run.child.kill('SIGTERM');
    expect(await run.exit, run.stderr()).toBe(130);
    expect(Date.now() - started).toBeLessThan(1000);
    await run.stdoutClosed;
    expectInterruptedReport(run.stdout(), input, out);
  });

  it('SIGTERM to the process group is an interruption, not a model failure', async () => {
    const input = batch(6);
    const run = start([input, '-o', scratch(), '-m', 'realesrgan-x4plus', '--tile', '16', '-j', '1'], true);
    await waitFor(() => run.stderr().includes('using'), 30000);
    expect(run.stderr()).toContain('using');
    await new Promise((r) => setTimeout(r, 300));
    // As a terminal or CI runner does: the signal reaches the inference process too.
    process.kill(-run.child.pid!, 'SIGTERM');
    expect(await run.exit, run.stderr()).toBe(130);
    expect(run.stderr()).toContain('Interrupted');
    expect(run.stderr()).not.toMatch(/Model .* failed/);
  });

  it('--skip-existing resumes: only missing outputs are produced', async () => {
    const input = batch(3);
    const out = scratch();
    await cli(join(input, 'img0.png'), '-o', join(out, 'img0.png'), '-m', 'nearest');
    const before = statSync(join(out, 'img0.png')).mtimeMs;
    const run = await cli(input, '-o', out, '-m', 'nearest', '--skip-existing', '--json');
    const statuses = JSON.parse(run.stdout).files.map((f: { status: string }) => f.status);
    expect(statuses).toEqual(['skipped', 'ok', 'ok']);
    expect(statSync(join(out, 'img0.png')).mtimeMs).toBe(before);
  });
});
