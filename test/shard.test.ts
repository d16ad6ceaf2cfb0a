/**
 * `--shard i/n` and `--shard auto`: several real processes running the same command share a batch, each input
 * once; a killed shard resumes with --skip-existing; the index and count come from the engines' variables.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { upscale } from '../src/index.js';
import { cliWith, fixtures, scratch, type CliRun } from './helpers.js';

const bin = join(fixtures, '..', 'bin', 'upscale.js');
const cat = join(fixtures, 'images', 'cat.png');

/** A folder holding a copy of `from` under each name. */
function folderOf(from: string, names: readonly string[]): string {
  const root = scratch();
  for (const name of names) copyFileSync(from, join(root, name));
  return root;
}

/** The built CLI in a process of its own (in its own process group, so that a kill reaches its inference process too). */
function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, detached: true });
  onTestFinished(() => void (child.exitCode === null && child.signalCode === null && process.kill(-child.pid!, 'SIGKILL')));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliRun & { signal: string | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr })),
  );
  return { child, done };
}

const names = (files: { input: string }[]) => files.map((f) => f.input.split('/').pop()).sort();
const images = (folder: string) => (existsSync(folder) ? readdirSync(folder).filter((n) => !n.startsWith('.')).sort() : []);

describe('--shard i/n across processes', () => {
  // Upper and lower case: the code-unit order (B, D, F, a, c, e, g) is not a locale's (a, B, c, …), so the split pins it.
  const seven = ['a.png', 'B.png', 'c.png', 'D.png', 'e.png', 'F.png', 'g.png'];

  it('three processes with --shard k/3 write every output once, dealt round-robin over the sorted paths', async () => {
    const input = folderOf(cat, seven);
    const out = scratch();
    const runs = await Promise.all([1, 2, 3].map((k) => start([input, '-o', out, '-m', 'nearest', '--shard', `${k}/3`, '--json']).done));
    const reports = runs.map((run) => {
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout);
    });
    expect(reports.map((r) => names(r.files))).toEqual([
      ['B.png', 'a.png', 'g.png'],
      ['D.png', 'c.png'],
      ['F.png', 'e.png'],
    ]);
    expect(reports.map((r) => r.summary.shard)).toEqual([1, 2, 3].map((index) => ({ index, count: 3 })));
    expect(reports.map((r) => r.summary.ok)).toEqual([3, 2, 2]);
    expect(images(out)).toEqual([...seven].sort());
  });

  it('a shard killed mid-run, rerun with --skip-existing, finishes exactly its share', async () => {
    // A network on 64×64 images, one at a time: each takes a moment, so the kill lands between outputs.
    const input = folderOf(join(fixtures, 'golden', 'coffee-64.png'), ['img0.png', 'img1.png', 'img2.png', 'img3.png']);
    const out = scratch();
    // A retried pod: the same command, the same JOB_COMPLETION_INDEX (1 of 2: the second share).
    const args = [input, '-o', out, '-m', 'realesr-general-x4v3', '-j', '1', '--shard', 'auto', '--skip-existing', '--json'];
    const env = { JOB_COMPLETION_INDEX: '1', UPSCALE_SHARD_COUNT: '2' };
    const share = ['img1.png', 'img3.png'];
    const first = start(args, env);
    const until = Date.now() + 30_000;
    while (images(out).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    process.kill(-first.child.pid!, 'SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    const written = images(out);
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThan(share.length);
    const rerun = await start(args, env).done;
    expect(rerun.code, rerun.stderr).toBe(0);
    const report = JSON.parse(rerun.stdout);
    expect(report.summary).toMatchObject({ total: 2, skipped: written.length, ok: share.length - written.length, shard: { index: 2, count: 2 } });
    expect(names(report.files)).toEqual(share);
    expect(images(out)).toEqual(share);
  });
});

describe('--shard auto reads the engine', () => {
  const input = folderOf(cat, ['a.png', 'b.png', 'c.png', 'd.png', 'e.png']);
  const plan = async (env: Record<string, string>, ...args: string[]) => {
    const run = await cliWith(env, input, '-m', 'nearest', '--dry-run', '--json', '--shard', 'auto', ...args);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    return { shard: report.summary.shard, files: names(report.files) };
  };

  it.each([
    ['Kubernetes, with --shard-count', { JOB_COMPLETION_INDEX: '1' }, ['--shard-count', '2']],
    ['Kubernetes, with UPSCALE_SHARD_COUNT', { JOB_COMPLETION_INDEX: '1', UPSCALE_SHARD_COUNT: '2' }, []],
    ['AWS Batch', { AWS_BATCH_JOB_ARRAY_INDEX: '1', AWS_BATCH_JOB_ARRAY_SIZE: '2' }, []],
    ['Cloud Run', { CLOUD_RUN_TASK_INDEX: '1', CLOUD_RUN_TASK_COUNT: '2' }, []],
  ])('%s: index from 0 in the environment is shard 2/2', async (_, env, args) => {
    expect(await plan(env, ...args)).toEqual({ shard: { index: 2, count: 2 }, files: ['b.png', 'd.png'] });
  });

  it('the summary line says the shard', async () => {
    const run = await cliWith({ CLOUD_RUN_TASK_INDEX: '0', CLOUD_RUN_TASK_COUNT: '2' }, input, '-m', 'nearest', '--dry-run', '--shard', 'auto');
    expect(run.stderr).toMatch(/^shard 1\/2: 3 planned in \d+\.\d s\n$/);
  });

  it('a count given twice is used when both agree', async () => {
    expect((await plan({ AWS_BATCH_JOB_ARRAY_INDEX: '0', AWS_BATCH_JOB_ARRAY_SIZE: '2', UPSCALE_SHARD_COUNT: '2' })).files).toEqual(['a.png', 'c.png', 'e.png']);
  });
});

describe('usage errors', () => {
  const input = folderOf(cat, ['a.png']);
  const none =
    '--shard auto found no shard index in the environment: none of JOB_COMPLETION_INDEX (Kubernetes Indexed Job, with --shard-count or UPSCALE_SHARD_COUNT), AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job, with AWS_BATCH_JOB_ARRAY_SIZE) or CLOUD_RUN_TASK_INDEX (Cloud Run job, with CLOUD_RUN_TASK_COUNT) is set; elsewhere pass --shard <i>/<n>';
  it.each([
    [{}, ['--shard', '0/3'], 'Expected i/n with i from 1 to n, or auto, for --shard but received "0/3"'],
    [{}, ['--shard', '4/3'], 'Expected i/n with i from 1 to n, or auto, for --shard but received "4/3"'],
    [{}, ['--shard', 'abc'], 'Expected i/n with i from 1 to n, or auto, for --shard but received "abc"'],
    [{}, ['--shard', 'auto'], none],
    [{ JOB_COMPLETION_INDEX: '' }, ['--shard', 'auto'], none],
    [{}, ['--shard', '1/2', '--shard-count', '2'], '--shard-count needs --shard auto'],
    [
      { JOB_COMPLETION_INDEX: '0' },
      ['--shard', 'auto'],
      "--shard auto: JOB_COMPLETION_INDEX gives this worker's index but nothing gives the shard count; pass --shard-count <n> or set UPSCALE_SHARD_COUNT",
    ],
    [{ JOB_COMPLETION_INDEX: '3' }, ['--shard', 'auto', '--shard-count', '3'], 'Expected integer between 0 and 2 for JOB_COMPLETION_INDEX (counted from 0, with --shard-count 3) but received "3"'],
    [{ CLOUD_RUN_TASK_INDEX: 'x', CLOUD_RUN_TASK_COUNT: '2' }, ['--shard', 'auto'], 'Expected integer between 0 and 1 for CLOUD_RUN_TASK_INDEX (counted from 0, with CLOUD_RUN_TASK_COUNT=2) but received "x"'],
    [{ AWS_BATCH_JOB_ARRAY_INDEX: '0', AWS_BATCH_JOB_ARRAY_SIZE: '0' }, ['--shard', 'auto'], 'Expected integer between 1 and 100000 for AWS_BATCH_JOB_ARRAY_SIZE but received "0"'],
    [
      { AWS_BATCH_JOB_ARRAY_INDEX: '0', AWS_BATCH_JOB_ARRAY_SIZE: '3' },
      ['--shard', 'auto', '--shard-count', '4'],
      '--shard auto: --shard-count 4 and AWS_BATCH_JOB_ARRAY_SIZE=3 disagree on the shard count; give one, or make them agree',
    ],
  ])('%j %j', async (env, args, message) => {
    const run = await cliWith(env, input, '-m', 'nearest', ...args);
    expect(run).toEqual({ code: 2, stdout: '', stderr: `upscale: ${message}\n` });
  });

  it('the library names the option as it knows it, and takes { index, count }', async () => {
    await expect(upscale(input, { model: 'nearest', shard: { index: 0, count: 3 } })).rejects.toThrow('Expected i/n with i from 1 to n, or auto, for shard but received "0/3"');
    await expect(upscale(input, { model: 'nearest', shard: 'auto', env: {} })).rejects.toThrow(/^shard auto found no shard index in the environment: .*\(Kubernetes Indexed Job, with shardCount or UPSCALE_SHARD_COUNT\).*; elsewhere pass shard <i>\/<n>$/);
  });
});

describe('the whole list decides before it is dealt', () => {
  it('the same share whatever order the inputs are given in', async () => {
    const root = folderOf(cat, ['a.png', 'b.png', 'c.png', 'd.png']);
    const files = ['a.png', 'b.png', 'c.png', 'd.png'].map((n) => join(root, n));
    for (const index of [1, 2]) {
      const forward = await upscale(files, { model: 'nearest', dryRun: true, shard: { index, count: 2 } });
      const backward = await upscale([...files].reverse(), { model: 'nearest', dryRun: true, shard: `${index}/2` });
      expect(names(backward.files)).toEqual(names(forward.files));
    }
  });

  it('outputs that collide in different shards are refused by both', async () => {
    // a.jpg and a.png both become a.png; sorted, they fall to shards 1 and 2.
    const root = scratch();
    copyFileSync(cat, join(root, 'a.png'));
    copyFileSync(join(fixtures, 'images', 'cat-p3.jpg'), join(root, 'a.jpg'));
    const out = scratch();
    for (const index of [1, 2]) {
      const report = await upscale(root, { output: out, model: 'nearest', format: 'png', shard: { index, count: 2 } });
      expect(report.files.map((f) => [f.input.split('/').pop(), f.code])).toEqual([[index === 1 ? 'a.jpg' : 'a.png', 'ERR_OUTPUT_COLLISION']]);
    }
    expect(images(out)).toEqual([]);
  });

  it('an output that is another shard\'s input stops every shard', async () => {
    const root = folderOf(cat, ['cat.png', 'cat-x4.png']);
    for (const shard of ['1/2', '2/2']) {
      const run = await cliWith({}, join(root, 'cat.png'), join(root, 'cat-x4.png'), '-m', 'nearest', '--shard', shard);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`upscale: ${join(root, 'cat-x4.png')}: the output path is the input itself; choose another --output or --format (inputs are never modified)\n`);
    }
  });
});
