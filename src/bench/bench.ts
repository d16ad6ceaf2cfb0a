/**
 * `npm run bench`: runs the real CLI as a user would (a fresh process per case: node start, model load, decode,
 * inference, stitch, encode) and reports wall time, effective GFLOP/s against this machine's fp32 ceiling (measured
 * with onnxruntime itself just before each case), peak memory of the whole process tree and the time split.
 *
 * Options: --json (machine-readable), --quick (a short subset), --video (only the video case).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest } from '../catalog.js';
import { parseNcnn } from '../convert/ncnn.js';
import { ncnnToOnnx } from '../convert/onnx.js';
import { decode } from '../decode.js';
import { resizeTo } from '../edit.js';
import { encodeToFile } from '../encode.js';
import { findFfmpeg } from '../ffmpeg.js';
import type { Image } from '../image.js';
import { loadNetwork } from '../inference.js';
import type { FileResult } from '../pipeline.js';

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

const QUICK: Case[] = [FULL[1]!, FULL[4]!, FULL[6]!, FULL[7]!, FULL[9]!];

/** A wide 3×3 convolution chain (256 channels): the kind of work the networks do, at its most efficient. */
function ceilingGraph(): { onnx: Uint8Array; macsPerPixel: number } {
  const width = 256;
  const layers = ['Input data 0 1 b0'];
  const weights: number[] = [];
  let macs = 0;
  const convs: [number, number][] = [[3, width], ...Array.from({ length: 8 }, () => [width, width] as [number, number]), [width, 3]];
  convs.forEach(([cin, cout], i) => {
    layers.push(`Convolution c${i} 1 1 b${i} b${i + 1} 0=${cout} 1=3 4=1 5=0 6=${cin * cout * 9}`);
    weights.push(0);
    for (let k = 0; k < cin * cout * 9; k++) weights.push(Math.sin(k) * 0.01);
    macs += cin * cout * 9;
  });
  const bin = Buffer.alloc(weights.length * 4);
  weights.forEach((w, i) => bin.writeFloatLE(w, i * 4));
  const param = `7767517\n${layers.length} ${convs.length + 1}\n${layers.join('\n')}\n`;
  return { onnx: ncnnToOnnx(parseNcnn(param, bin), { weightType: 'float32' }), macsPerPixel: macs };
}

async function measureCeiling(work: string): Promise<number> {
  const { onnx, macsPerPixel } = ceilingGraph();
  const path = join(work, 'ceiling.onnx');
  writeFileSync(path, onnx);
  const network = await loadNetwork({ kind: 'network', name: 'ceiling', path, receptiveFieldRadius: Infinity }, { device: 'cpu', precision: 'fp32', optionName: (key) => key });
  const size = 96;
  const input = new Float32Array(3 * size * size).fill(0.5);
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await network.run(input, size, size, 8);
    best = Math.min(best, performance.now() - started);
  }
  await network.release();
  return (2 * macsPerPixel * size * size) / (best / 1000) / 1e9;
}

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

/**
 * Resident memory of a process and all its descendants, in bytes (Linux /proc). Reads only that tree, through each
 * thread's `children` list, so sampling costs next to nothing beside the run it measures.
 */
function treeRss(pid: number): number {
  let total = 0;
  try {
    total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    for (const thread of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${thread}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) total += treeRss(Number(child));
    }
  } catch {
    // The process ended while we looked.
  }
  return total;
}

interface Run {
  wallMs: number;
  peakRss: number;
  files: FileResult[];
}

function runCli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakRss = 0;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, treeRss(child.pid!))), 100);
    child.on('exit', (code) => {
      clearInterval(sampler);
      const wallMs = performance.now() - started;
      if (code !== 0) return reject(new Error(`upscale ${args.join(' ')} exited ${code}: ${stderr}`));
      resolve({ wallMs, peakRss, files: (JSON.parse(stdout) as { files: FileResult[] }).files });
    });
  });
}

interface Row {
  case: string;
  model: string;
  input: string;
  wallS: number;
  outputMpxPerS: number;
  gflops: number;
  /** Measured just before this case: the machines drift, so each case is compared with the ceiling of its moment. */
  ceilingGflops: number;
  percentOfCeiling: number;
  peakRssMiB: number;
  split: Record<string, number>;
}

async function main() {
  const args = process.argv.slice(2);
  const cases = args.includes('--video') ? FULL.filter((c) => c.frames !== undefined) : args.includes('--quick') ? QUICK : FULL;
  const asJson = args.includes('--json');
  const work = mkdtempSync(join(tmpdir(), 'upscale-bench-'));
  try {
    const manifest = new Map(readManifest().map((m) => [m.name, m]));
    const photo = (await decode(join(root, 'fixtures', 'photos', 'coffee.png'), 'png', 1e8)).image;
    const rows: Row[] = [];
    for (const [i, c] of cases.entries()) {
      const input = await makeInputs(join(work, `case${i}`), c, photo);
      const ceiling = await measureCeiling(work);
      const run = await runCli([input, '-o', join(work, `out${i}`), '-m', c.model, '--device', 'cpu', '--json', '--quiet', ...(c.extra ?? [])]);
      const entry = manifest.get(c.model) ?? manifest.get(`${c.model}-x4`)!;
      const inputPixels = c.width * c.height * c.count * (c.frames ?? 1);
      const seconds = run.wallMs / 1000;
      const gflops = (2 * entry.macsPerPixel * inputPixels) / seconds / 1e9;
      const split: Record<string, number> = {};
      for (const file of run.files) for (const [stage, ms] of Object.entries(file.timings ?? {})) split[stage] = (split[stage] ?? 0) + ms / 1000;
      rows.push({
        case: c.label ?? '',
        model: c.model,
        input: `${c.count > 1 ? `${c.count}×` : ''}${c.frames !== undefined ? `${c.frames} frames of ` : ''}${c.width}×${c.height}`,
        wallS: seconds,
        outputMpxPerS: run.files.reduce((sum, file) => sum + file.outWidth! * file.outHeight! * (file.frames ?? 1), 0) / 1e6 / seconds,
        gflops,
        ceilingGflops: ceiling,
        percentOfCeiling: (100 * gflops) / ceiling,
        peakRssMiB: run.peakRss / 2 ** 20,
        split,
      });
      if (!asJson) process.stderr.write(`  done ${c.model} ${rows.at(-1)!.input} ${c.label ?? ''}\n`);
    }
    const ceilings = rows.map((r) => r.ceilingGflops);
    const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), ceilingGflops: { min: Math.min(...ceilings), max: Math.max(...ceilings) } };
    if (asJson) {
      process.stdout.write(`${JSON.stringify({ machine, rows }, null, 2)}\n`);
      return;
    }
    const { min, max } = machine.ceilingGflops;
    console.log(`machine: ${machine.cpu}, ${machine.cores} cores; fp32 ceiling (onnxruntime, 256-channel 3×3 convs), measured before each case: ${min.toFixed(1)}–${max.toFixed(1)} GFLOP/s\n`);
    console.log('| model | input | case | wall s | out Mpx/s | GFLOP/s | ceiling GFLOP/s | % of ceiling | peak RSS MiB | decode / inference / stitch / edit / encode s |');
    console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const r of rows) {
      const s = ['decode', 'inference', 'stitch', 'edit', 'encode'].map((k) => (r.split[k] ?? 0).toFixed(2)).join(' / ');
      console.log(`| ${r.model} | ${r.input} | ${r.case} | ${r.wallS.toFixed(2)} | ${r.outputMpxPerS.toFixed(2)} | ${r.gflops.toFixed(1)} | ${r.ceilingGflops.toFixed(1)} | ${r.percentOfCeiling.toFixed(0)} % | ${r.peakRssMiB.toFixed(0)} | ${s} |`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
