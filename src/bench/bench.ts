/**
 * `npm run bench`: runs the real CLI as a user would (a fresh process per run: node start, model load, decode,
 * inference, stitch, encode) and reports wall time, GFLOP/s against the wall clock and per CPU-second, peak memory
 * of the process tree and the time split. Per CPU-second means the work divided by the user + system time of the
 * processes: on a shared machine other programs stretch the wall clock, far less the CPU time a run is given.
 *
 * Each case runs in fp32 and, where the model has an int8 form, in int8 too, interleaved (fp32, int8, int8, fp32) so
 * that their ratio sees the same machine; the int8 output's PSNR against the fp32 output sits beside it.
 *
 * `--torch` runs instead the whole-process comparison with the PyTorch reference (src/bench/torch-reference.py, run
 * by $PYTHON or python3, on the upstream ncnn files that npm run models:build fetched): the same image through both,
 * interleaved, and the tool's wall time over PyTorch's.
 *
 * `--interpolate` (and the full run) times --interpolate's network alone, in this process: frames made per second at
 * 480p and at twice each side (what a ×2 upscale would hand it), alternated, after a warm-up run of each.
 *
 * Options: --json (machine-readable), --quick (a short subset), --video (only the video case), --torch, --interpolate.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest, type ManifestEntry } from '../models/catalog.js';
import { decode } from '../files/decode.js';
import { resizeTo } from '../pixels/edit.js';
import { encodeToFile } from '../files/encode.js';
import { findFfmpeg } from '../files/ffmpeg.js';
import type { Image } from '../core/image.js';
import { detectedCpuFlags } from '../inference/cpu.js';
import { loadInterpolator } from '../inference/interpolator.js';
import { allocateImage } from '../core/image.js';
import type { FileResult } from '../core/results.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'upscale.js');

interface Case {
  model: string;
  width: number;
  height: number;
  /** Images in the batch (each width × height). */
  count: number;
  /** A video instead: this many frames at 30 fps, made by ffmpeg from the photo. */
  frames?: number;
  extra?: string[];
  label?: string;
}

const FULL: Case[] = [
  { model: 'realesr-general-x4v3', width: 128, height: 128, count: 1 },
  { model: 'realesr-general-x4v3', width: 256, height: 256, count: 1 },
  { model: 'realesr-general-x4v3', width: 640, height: 480, count: 1 },
  { model: 'realesr-general-x4v3', width: 1024, height: 768, count: 1 },
  { model: 'realesr-general-x4v3', width: 1024, height: 768, count: 1, extra: ['--tile', '256'], label: '--tile 256' },
  { model: 'realesr-general-x4v3', width: 1024, height: 768, count: 1, extra: ['--memory', '512'], label: '--memory 512' },
  { model: 'realesr-general-x4v3', width: 128, height: 128, count: 32, label: 'batch of 32' },
  { model: 'realesr-general-x4v3', width: 724, height: 724, count: 1, label: 'same pixels as the batch' },
  { model: 'realesr-animevideov3', width: 1024, height: 768, count: 1 },
  { model: 'realesrgan-x4plus', width: 128, height: 128, count: 1 },
  { model: 'realesrgan-x4plus', width: 256, height: 256, count: 1 },
  { model: 'realesrgan-x4plus-anime', width: 256, height: 256, count: 1 },
  // The fastest model on 480p video: what a minute of it costs is this row's time × 60.
  { model: 'realesr-animevideov3', width: 854, height: 480, count: 1, frames: 30, extra: ['-s', '2'], label: 'video: 1 s of 480p at 30 fps, -s 2' },
];

const QUICK: Case[] = [FULL[1]!, FULL[4]!, FULL[6]!, FULL[9]!];

/** The cases timed against PyTorch. */
const TORCH: Case[] = [FULL[1]!, FULL[9]!];

interface InterpolationRow {
  input: string;
  /** Frames made per second, the median of the timed runs. */
  framesPerS: number;
  runs: number;
}

/** A frame of soft gradients with a bright square at `shift`, so that the flow network has motion to find. */
function movingFrame(width: number, height: number, shift: number) {
  const image = allocateImage(width, height, 3, 8);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inSquare = x - shift >= width / 4 && x - shift < width / 2 && y >= height / 4 && y < height / 2;
      image.data.set(inSquare ? [240, 220, 60] : [(x * 255) / width, (y * 255) / height, 96], (y * width + x) * 3);
    }
  }
  return image;
}

/** --interpolate's network alone: frames made per second at 480p and at twice each side, alternated. */
async function interpolationRows(rounds = 3): Promise<InterpolationRow[]> {
  const sizes = [
    [854, 480],
    [1708, 960],
  ] as const;
  const interpolator = await loadInterpolator('cpu', '--device');
  try {
    const pairs = sizes.map(([w, h]) => [movingFrame(w, h, 0), movingFrame(w, h, 12)] as const);
    const times: number[][] = sizes.map(() => []);
    for (let round = 0; round <= rounds; round++) {
      for (const [k, [a, b]] of pairs.entries()) {
        const started = performance.now();
        await interpolator.between(a, b, 0.5);
        // Round 0 warms up (session and allocations).
        if (round > 0) times[k]!.push(performance.now() - started);
      }
    }
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    return sizes.map(([w, h], k) => ({ input: `${w}×${h}`, framesPerS: 1000 / median(times[k]!), runs: rounds }));
  } finally {
    await interpolator.release();
  }
}

/** The CPU features that decide which kernels onnxruntime can use. */
const FEATURES = { 'AVX2': ['avx2'], 'AVX-512': ['avx512f'], 'VNNI': ['avx512_vnni', 'avx_vnni'], 'AMX': ['amx_int8'] } as const;

async function makeInputs(folder: string, c: Case, photo: Image): Promise<string> {
  mkdirSync(folder, { recursive: true });
  if (c.frames !== undefined) {
    // The photo drifting sideways, so no two frames are alike, with an audio track as a real clip has.
    const still = join(folder, 'photo.png');
    await encodeToFile(await resizeTo(photo, c.width + c.frames, c.height), { format: 'png' }, still);
    const path = join(folder, `in-${c.width}x${c.height}.mp4`);
    const seconds = String(c.frames / 30);
    const made = spawnSync(findFfmpeg(undefined, 'the bench'), ['-v', 'error', '-loop', '1', '-framerate', '30', '-i', still, '-f', 'lavfi', '-i', `sine=duration=${seconds}`, '-vf', `crop=${c.width}:${c.height}:n:0`, '-t', seconds, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', path]);
    if (made.status !== 0) throw new Error(`ffmpeg: ${made.stderr}`);
    return path;
  }
  if (c.count === 1) {
    const path = join(folder, `in-${c.width}x${c.height}.png`);
    await encodeToFile(await resizeTo(photo, c.width, c.height), { format: 'png' }, path);
    return path;
  }
  // Different crops, so the batch is 32 real images rather than one repeated.
  const scaled = await resizeTo(photo, 600, 400);
  for (let i = 0; i < c.count; i++) {
    const left = (i * 37) % (scaled.width - c.width);
    const top = (i * 23) % (scaled.height - c.height);
    const crop = { ...scaled, data: new Uint8Array(c.width * c.height * 3), width: c.width, height: c.height };
    for (let y = 0; y < c.height; y++) crop.data.set(scaled.data.subarray(((top + y) * scaled.width + left) * 3, ((top + y) * scaled.width + left + c.width) * 3), y * c.width * 3);
    await encodeToFile(crop, { format: 'png' }, join(folder, `in-${String(i).padStart(2, '0')}.png`));
  }
  return folder;
}

/** Clock ticks per second of /proc's CPU times. */
const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/**
 * Resident memory of a process and all its descendants, in bytes, and each one's CPU time so far in seconds (Linux
 * /proc). Reads only that tree, through each thread's `children` list, so sampling costs next to nothing beside the
 * run it measures.
 */
function sampleTree(pid: number, cpu: Map<number, number>): number {
  let rss = 0;
  try {
    rss += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    // Fields 14 and 15, user and system time, counted after the command name (which may hold spaces).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / ticks);
    for (const thread of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${thread}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) rss += sampleTree(Number(child), cpu);
    }
  } catch {
    // The process ended while we looked.
  }
  return rss;
}

interface Run {
  wallMs: number;
  /** User + system seconds of the process and its children, to the last sample (every 20 ms). */
  cpuS: number;
  peakRss: number;
  files: FileResult[];
}

const runCli = (args: string[]): Promise<Run> => runProcess(process.execPath, [bin, ...args]);

function runProcess(command: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakRss = 0;
    const cpu = new Map<number, number>();
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, sampleTree(child.pid!, cpu))), 20);
    child.on('exit', (code) => {
      clearInterval(sampler);
      const wallMs = performance.now() - started;
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      const cpuS = [...cpu.values()].reduce((a, b) => a + b, 0);
      resolve({ wallMs, cpuS, peakRss, files: stdout ? (JSON.parse(stdout) as { files: FileResult[] }).files : [] });
    });
  });
}

/** PSNR of one run's output files against another's, over all their samples. */
async function psnrBetween(a: string[], b: string[]): Promise<number> {
  let squared = 0;
  let count = 0;
  for (const [i, file] of a.entries()) {
    const [x, y] = [(await decode(file, 'png', 1e9)).image, (await decode(b[i]!, 'png', 1e9)).image];
    for (let k = 0; k < x.data.length; k++) squared += (x.data[k]! - y.data[k]!) ** 2;
    count += x.data.length;
  }
  return 10 * Math.log10((255 * 255) / (squared / count));
}

const outputs = (run: Run) => run.files.map((f) => f.output);

interface TorchRow {
  model: string;
  input: string;
  torchWallS: number;
  /** The tool's whole-process wall time over PyTorch's, per precision run. */
  ratio: Partial<Record<'fp32' | 'int8', number>>;
  /** fp32's output against PyTorch's. */
  psnr: number;
}

/** The tool against the PyTorch reference on the same image, whole process each, interleaved. */
async function againstTorch(work: string, photo: Image, manifest: Map<string, ManifestEntry>): Promise<TorchRow[]> {
  const python = process.env.PYTHON ?? 'python3';
  const rows: TorchRow[] = [];
  for (const [i, c] of TORCH.entries()) {
    const entry = manifest.get(c.model)!;
    const source = join(root, '.cache', 'models-src', entry.source.package, 'package', entry.source.path);
    if (!existsSync(source)) throw new Error(`${source} is missing: run npm run models:build first`);
    const input = await makeInputs(join(work, `torch${i}`), c, photo);
    const order = entry.int8 ? (['torch', 'fp32', 'int8', 'int8', 'fp32', 'torch'] as const) : (['torch', 'fp32', 'fp32', 'torch'] as const);
    const runs: Record<string, Run[]> = {};
    for (const [k, who] of order.entries()) {
      const output = join(work, `torch${i}-${k}.png`);
      const run =
        who === 'torch'
          ? await runProcess(python, [join(root, 'src', 'bench', 'torch-reference.py'), source, source.replace(/\.param$/, '.bin'), input, output, String(availableParallelism())])
          : await runCli([input, '-o', output, '-m', c.model, '--device', 'cpu', '--precision', who, '--json', '--quiet']);
      (runs[who] ??= []).push(who === 'torch' ? { ...run, files: [{ output } as FileResult] } : run);
    }
    const mean = (r: Run[]) => r.reduce((a, b) => a + b.wallMs / 1000, 0) / r.length;
    const torchWallS = mean(runs.torch!);
    rows.push({
      model: c.model,
      input: `${c.width}×${c.height}`,
      torchWallS,
      ratio: Object.fromEntries((['fp32', 'int8'] as const).filter((p) => runs[p]).map((p) => [p, mean(runs[p]!) / torchWallS])),
      psnr: await psnrBetween(outputs(runs.fp32![0]!), outputs(runs.torch![0]!)),
    });
  }
  return rows;
}

interface Row {
  case: string;
  model: string;
  input: string;
  precision: 'fp32' | 'int8';
  /** Means over the runs of this precision. */
  wallS: number;
  cpuS: number;
  outputMpxPerS: number;
  gflops: number;
  gflopsPerCpuS: number;
  peakRssMiB: number;
  split: Record<string, number>;
  /** int8 rows: int8 over fp32, wall and CPU time, from the interleaved runs; and the PSNR against fp32's output (images). */
  int8?: { wallRatio: number; cpuRatio: number; psnr?: number };
}

async function main() {
  const args = process.argv.slice(2);
  const only = args.includes('--torch') || args.includes('--interpolate');
  const cases = only ? [] : args.includes('--video') ? FULL.filter((c) => c.frames !== undefined) : args.includes('--quick') ? QUICK : FULL;
  const asJson = args.includes('--json');
  const work = mkdtempSync(join(tmpdir(), 'upscale-bench-'));
  try {
    const manifest = new Map(readManifest().map((m) => [m.name, m]));
    const photo = (await decode(join(root, 'fixtures', 'photos', 'coffee.png'), 'png', 1e8)).image;
    const rows: Row[] = [];
    for (const [i, c] of cases.entries()) {
      const input = await makeInputs(join(work, `case${i}`), c, photo);
      const entry = manifest.get(c.model) ?? manifest.get(`${c.model}-x4`)!;
      const order = entry.int8 ? (['fp32', 'int8', 'int8', 'fp32'] as const) : (['fp32'] as const);
      const runs: Record<'fp32' | 'int8', Run[]> = { fp32: [], int8: [] };
      for (const [k, precision] of order.entries()) {
        const output = join(work, `out${i}-${k}`);
        const flags = ['-m', c.model, '--device', 'cpu', '--precision', precision, '--json', '--quiet', ...(c.extra ?? [])];
        runs[precision].push(await runCli([input, '-o', output, ...flags]));
      }
      const inputPixels = c.width * c.height * c.count * (c.frames ?? 1);
      const flop = 2 * entry.macsPerPixel * inputPixels;
      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      for (const precision of ['fp32', 'int8'] as const) {
        const done = runs[precision];
        if (done.length === 0) continue;
        const wallS = mean(done.map((r) => r.wallMs / 1000));
        const cpuS = mean(done.map((r) => r.cpuS));
        const split: Record<string, number> = {};
        for (const file of done.flatMap((r) => r.files)) {
          for (const [stage, ms] of Object.entries(file.timings ?? {})) split[stage] = (split[stage] ?? 0) + ms / 1000 / done.length;
        }
        // The fp32 row is the one just before an int8 row.
        const fp32 = precision === 'int8' ? rows.at(-1) : undefined;
        rows.push({
          case: c.label ?? '',
          model: c.model,
          input: `${c.count > 1 ? `${c.count}×` : ''}${c.frames !== undefined ? `${c.frames} frames of ` : ''}${c.width}×${c.height}`,
          precision,
          wallS,
          cpuS,
          outputMpxPerS: done[0]!.files.reduce((sum, file) => sum + file.outWidth! * file.outHeight! * (file.frames ?? 1), 0) / 1e6 / wallS,
          gflops: flop / wallS / 1e9,
          gflopsPerCpuS: flop / cpuS / 1e9,
          peakRssMiB: Math.max(...done.map((r) => r.peakRss)) / 2 ** 20,
          split,
          ...(fp32 && {
            int8: {
              wallRatio: wallS / fp32.wallS,
              cpuRatio: cpuS / fp32.cpuS,
              ...(c.frames === undefined && { psnr: await psnrBetween(outputs(done[0]!), outputs(runs.fp32[0]!)) }),
            },
          }),
        });
      }
      if (!asJson) process.stderr.write(`  done ${c.model} ${rows.at(-1)!.input} ${c.label ?? ''}\n`);
    }
    const torch = args.includes('--torch') ? await againstTorch(work, photo, manifest) : [];
    const interpolation = args.includes('--interpolate') || cases === FULL ? await interpolationRows() : [];
    const flags = detectedCpuFlags();
    const features = Object.fromEntries(Object.entries(FEATURES).map(([name, any]) => [name, any.some((f) => flags.has(f))]));
    const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), features };
    if (asJson) {
      process.stdout.write(`${JSON.stringify({ machine, rows, ...(torch.length && { torch }), ...(interpolation.length && { interpolation }) }, null, 2)}\n`);
      return;
    }
    const listed = Object.entries(features).map(([name, has]) => `${name} ${has ? 'yes' : 'no'}`).join(', ');
    console.log(`machine: ${machine.cpu}, ${machine.cores} cores; ${listed}\n`);
    if (rows.length > 0) printRows(rows);
    if (interpolation.length > 0) {
      console.log('\n| --interpolate network alone | frames made per s | runs |');
      console.log('| --- | ---: | ---: |');
      for (const row of interpolation) console.log(`| ${row.input} | ${row.framesPerS.toFixed(2)} | ${row.runs} |`);
    }
    if (torch.length === 0) return;
    console.log('| model | input | PyTorch wall s | upscale fp32 / PyTorch | upscale int8 / PyTorch | fp32 PSNR vs PyTorch |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: |');
    for (const t of torch) {
      console.log(`| ${t.model} | ${t.input} | ${t.torchWallS.toFixed(2)} | ${t.ratio.fp32!.toFixed(2)} | ${t.ratio.int8?.toFixed(2) ?? ''} | ${t.psnr.toFixed(1)} dB |`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function printRows(rows: Row[]): void {
  console.log('| model | input | case | precision | wall s | CPU s | out Mpx/s | GFLOP/s | GFLOP/s per CPU-s | int8/fp32 wall, CPU | int8 PSNR vs fp32 | peak RSS MiB | decode / inference / stitch / edit / encode s |');
  console.log('| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    const s = ['decode', 'inference', 'stitch', 'edit', 'encode'].map((k) => (r.split[k] ?? 0).toFixed(2)).join(' / ');
    const ratio = r.int8 ? `${r.int8.wallRatio.toFixed(2)}, ${r.int8.cpuRatio.toFixed(2)}` : '';
    const psnr = r.int8?.psnr !== undefined ? `${r.int8.psnr.toFixed(1)} dB` : '';
    console.log(
      `| ${r.model} | ${r.input} | ${r.case} | ${r.precision} | ${r.wallS.toFixed(2)} | ${r.cpuS.toFixed(2)} | ${r.outputMpxPerS.toFixed(2)} | ${r.gflops.toFixed(1)} | ${r.gflopsPerCpuS.toFixed(1)} | ${ratio} | ${psnr} | ${r.peakRssMiB.toFixed(0)} | ${s} |`,
    );
  }
}

await main();
