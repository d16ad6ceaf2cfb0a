/**
 * A batch: `upscale(inputs, options)` and `upscaleImage(input, options)`, the library's entry points, and their
 * checked-options forms the CLI calls. Wires the stages: discover → plan outputs → (per image, in a pool) the
 * pipeline (decode → tiles → model → stitch → edit → encode → write) → the report.
 */
import pLimit from 'p-limit';
import { probedRun, resolveRun, type NetworkModel, type Run } from '../models/catalog.js';
import { discover, type OwnOutputs } from '../inputs/discover.js';
import { checkWatermark } from '../pixels/edit.js';
import { AbortError } from '../core/errors.js';
import { loadNetwork, type Network } from '../inference/inference.js';
import { loadInterpolator, type Interpolator, type Motion } from '../inference/interpolator.js';
import type { ConcreteDevice } from '../inference/providers.js';
import { resolveOptions, type ResolvedOptions, type UpscaleOptions } from '../options/options.js';
import { processBuffer, processFile, type Input } from './pipeline.js';
import type { Context, Engine } from './upscale.js';
import { DEFAULT_NAMES } from '../inputs/names.js';
import { planOutputs } from '../inputs/outputs.js';
import { interruptedResult, makeReport } from './summary.js';
import { preparePage } from '../pages/pages.js';
import { shareOf } from '../inputs/shard.js';
import { writeReportPage } from '../pages/report.js';
import type { Batch, BufferInfo, FileResult, UpscaleReport } from '../core/results.js';

/**
 * The run a batch or an image makes: the model resolved at the scale. A custom network is loaded here, since its
 * scale is known only from a probe run; a shipped one only by `engineFor`.
 */
async function selectRun(resolved: ResolvedOptions, chosen = chooseRun(resolved)): Promise<{ run: Run; network?: Network }> {
  if (chosen.kind !== 'unprobed') return { run: chosen };
  // A custom model's scale is known only once it is loaded and probed, and a dry run must still report it.
  const network = await loadFor(resolved, chosen.requested);
  return { run: probedRun(chosen, network.scale), network };
}

const chooseRun = (resolved: ResolvedOptions) => resolveRun(resolved.model, resolved.scale, resolved.noise, resolved.optionName('noise'));

function loadFor(resolved: ResolvedOptions, model: NetworkModel): Promise<Network> {
  return loadNetwork(model, { device: resolved.device, precision: resolved.precision, vnni: resolved.vnni, onNotice: resolved.onNotice, optionName: resolved.optionName });
}

/** What makes the pixels of a run: its network, loaded unless `selectRun` already did, or its baseline. */
async function engineFor(resolved: ResolvedOptions, run: Run, loaded: Network | undefined): Promise<Engine> {
  if (run.kind === 'baseline') return { kind: 'baseline', run };
  return { kind: 'network', run, network: loaded ?? (await loadFor(resolved, run.network)) };
}

/**
 * --interpolate's network, opened the first time a video or animation needs it (a batch of stills never loads it), on
 * the device the upscaler runs on; `release` closes it if it was opened.
 */
function motionFor(resolved: ResolvedOptions, device: ConcreteDevice): { motion?: Motion; release: () => Promise<void> } {
  if (resolved.interpolate === undefined) return { release: async () => undefined };
  let loading: Promise<Interpolator> | undefined;
  return {
    motion: { n: resolved.interpolate, sceneThreshold: resolved.sceneThreshold, interpolator: () => (loading ??= loadInterpolator(device, resolved.optionName('device'))) },
    release: async () => {
      await (await loading?.catch(() => undefined))?.release();
    },
  };
}

/** How outputs beside their inputs are named: `--name` without an output folder, else the default. */
function besideTemplate(resolved: ResolvedOptions): string {
  return resolved.output === undefined && resolved.name !== undefined ? resolved.name : DEFAULT_NAMES.beside;
}

/** Upscales files, folders and globs to files, and resolves to the report `--json` prints. */
export async function upscale(inputs: string | readonly string[], options: UpscaleOptions = {}): Promise<UpscaleReport> {
  return runBatch(inputs, resolveOptions(options));
}

/** `upscale()` with options already checked: the CLI's way in, whose messages name flags rather than options. */
export async function runBatch(inputs: string | readonly string[], resolved: ResolvedOptions): Promise<UpscaleReport> {
  const started = performance.now();
  if (resolved.edits.watermark) await checkWatermark(resolved.edits.watermark.path, resolved.optionName('watermark'));
  // Before the batch: a report that cannot be written should not be found out hours later.
  if (resolved.report !== undefined) await preparePage(resolved.report, resolved.optionName('report'));
  const chosen = chooseRun(resolved);
  const own: OwnOutputs = {
    template: besideTemplate(resolved),
    model: chosen.kind === 'unprobed' ? chosen.requested.name : chosen.variant.name,
    ...(chosen.scale !== undefined && { scale: chosen.scale }),
    ...(resolved.format && { format: resolved.format }),
  };
  const { sources, earlierOutputs } = await discover(typeof inputs === 'string' ? [inputs] : inputs, resolved.output, own, resolved.optionName, resolved.base);
  const selected = await selectRun(resolved, chosen);
  const { run } = selected;
  // A dry run plans and reaches no pixels: a shipped network is not even loaded.
  const engine = resolved.dryRun ? undefined : await engineFor(resolved, run, selected.network);
  const network = engine?.kind === 'network' ? engine.network : selected.network;
  const motion = motionFor(resolved, network?.device ?? 'cpu');
  try {
    // Planned over every input before the share is taken, so that every shard refuses the same collisions.
    const everyFile = await planOutputs(sources, { optionName: resolved.optionName, output: resolved.output, format: resolved.format, scale: run.scale, model: run.variant.name, name: resolved.name });
    const planned = resolved.shard ? shareOf(everyFile, resolved.shard) : everyFile;
    const batch: Batch = {
      files: planned.map(({ input, output }) => ({ input, output })),
      earlierOutputs: earlierOutputs.length,
      earlierOutputFiles: earlierOutputs,
      model: run.variant.name,
      scale: run.scale,
      device: network?.device ?? 'cpu',
      ...(network && { precision: network.precision }),
      ...(resolved.shard && { shard: resolved.shard }),
    };
    resolved.onEvent?.({ type: 'plan', ...batch });
    const context: Context = {
      options: resolved,
      run,
      ...(engine && { engine }),
      imagesInFlight: Math.min(resolved.concurrency, planned.length),
      ...(motion.motion && { motion: motion.motion }),
    };
    const limit = pLimit(resolved.concurrency);
    const settled = await Promise.all(
      planned.map((file) =>
        limit(async (): Promise<FileResult | undefined> => {
          if (resolved.signal?.aborted) return undefined;
          try {
            return await processFile(file, context);
          } catch (error) {
            if (!(error instanceof AbortError)) throw error;
            return interruptedResult(file, run.variant.name);
          }
        }),
      ),
    );
    const files = settled.filter((f): f is FileResult => f !== undefined);
    const report = makeReport(batch, files, resolved.signal?.aborted ?? false, Math.round(performance.now() - started));
    if (resolved.report !== undefined) await writeReportPage(resolved.report, report, resolved);
    return report;
  } finally {
    await Promise.all([network?.release(), motion.release()]);
  }
}

/** `upscaleImage`'s options: those of `upscale()` that make sense for one image in memory. */
export type ImageOptions = Omit<UpscaleOptions, 'output' | 'overwrite' | 'skipExisting' | 'dryRun' | 'concurrency' | 'shard' | 'shardCount' | 'env'>;

/**
 * Upscales one image held in memory (or read from a path) into memory: for a web service or a build plugin. Same
 * models, edits and checks as `upscale()`; the output format is `format`, else the input's (gif: png). A problem
 * with the image is thrown as an `InputError` whose `code` says which.
 */
export async function upscaleImage(input: Buffer | Uint8Array | string, options: ImageOptions = {}): Promise<{ data: Buffer; info: BufferInfo }> {
  const resolved = resolveOptions(options);
  if (resolved.edits.watermark) await checkWatermark(resolved.edits.watermark.path, resolved.optionName('watermark'));
  const image: Input = typeof input === 'string' ? { name: input } : { name: 'input', bytes: Buffer.from(input.buffer, input.byteOffset, input.byteLength) };
  return runImage(image, resolved);
}

/** `upscaleImage()` with options already checked: the CLI's way in for pipes. */
export async function runImage(image: Input, resolved: ResolvedOptions): Promise<{ data: Buffer; info: BufferInfo }> {
  const selected = await selectRun(resolved);
  const engine = await engineFor(resolved, selected.run, selected.network);
  const motion = motionFor(resolved, engine.kind === 'network' ? engine.network.device : 'cpu');
  try {
    return await processBuffer(image, resolved.format, { options: resolved, run: selected.run, engine, imagesInFlight: 1, ...(motion.motion && { motion: motion.motion }) });
  } finally {
    await Promise.all([engine.kind === 'network' && engine.network.release(), motion.release()]);
  }
}

