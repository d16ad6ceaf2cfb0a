/**
 * `upscale(inputs, options)`: the library entry point, and everything the CLI uses.
 * Wires the stages: discover → plan → (per image, in a pool) decode → tiles → model → stitch → edit → encode → write.
 */
import pLimit from 'p-limit';
import { networkOf } from './catalog.js';
import { discover } from './discover.js';
import { checkWatermark } from './edit.js';
import { AbortError } from './errors.js';
import { loadNetwork, type Network } from './model.js';
import { resolveOptions, type UpscaleOptions } from './options.js';
import { processFile, resolveRun, type Context, type FileResult } from './pipeline.js';
import { planOutputs } from './plan.js';

export interface UpscaleSummary {
  total: number;
  ok: number;
  skipped: number;
  failed: number;
  planned: number;
  /** Inputs never started because the run was interrupted. */
  notStarted: number;
  interrupted: boolean;
  model: string;
  scale: number;
  device: string;
  ms: number;
}

export interface UpscaleReport {
  files: FileResult[];
  summary: UpscaleSummary;
}

export async function upscale(inputs: string | readonly string[], options: UpscaleOptions = {}): Promise<UpscaleReport> {
  const started = performance.now();
  const resolved = resolveOptions(options);
  if (resolved.edits.watermark) await checkWatermark(resolved.edits.watermark.path);
  const sources = await discover(typeof inputs === 'string' ? [inputs] : inputs, resolved.output);
  const run = resolveRun(resolved.model, resolved.scale);
  let network: Network | undefined;
  // A custom model's scale is only known once loaded, and a dry run must still report it.
  if (run.model.kind === 'network' && (!resolved.dryRun || run.model.scale === undefined)) {
    network = await loadNetwork(networkOf(run.model), { device: resolved.device, onDeviceChosen: resolved.onNotice });
  }
  // A shipped model's scale is its own (a ×2 model may run a ×4 network); a custom one's is what the probe found.
  const scale = resolved.scale ?? (run.model.kind === 'network' && run.model.scale === undefined ? network?.scale : undefined) ?? run.scale;
  try {
    const planned = await planOutputs(sources, { output: resolved.output, format: resolved.format, scale });
    const context: Context = { options: resolved, network, model: run.model, scale, imagesInFlight: Math.min(resolved.concurrency, planned.length) };
    const limit = pLimit(resolved.concurrency);
    const settled = await Promise.all(
      planned.map((file) =>
        limit(async (): Promise<FileResult | undefined> => {
          if (resolved.signal?.aborted) return undefined;
          try {
            return await processFile(file, context);
          } catch (error) {
            if (!(error instanceof AbortError)) throw error;
            return { input: file.input, output: file.output, status: 'error', error: `${file.input}: interrupted`, model: run.model.name, ms: 0 };
          }
        }),
      ),
    );
    const files = settled.filter((f): f is FileResult => f !== undefined);
    const count = (status: FileResult['status']) => files.filter((f) => f.status === status).length;
    return {
      files,
      summary: {
        total: planned.length,
        ok: count('ok'),
        skipped: count('skipped'),
        failed: count('error'),
        planned: count('planned'),
        notStarted: planned.length - files.length,
        interrupted: resolved.signal?.aborted ?? false,
        model: run.model.name,
        scale,
        device: network?.device ?? 'cpu',
        ms: Math.round(performance.now() - started),
      },
    };
  } finally {
    await network?.release();
  }
}

export { resolveOptions, type UpscaleOptions, type UpscaleEvent, type ResolvedOptions } from './options.js';
export type { FileResult, Timings } from './pipeline.js';
export type { Image, ImageMetadata } from './image.js';
export type { Annotation, Colour, Crop, Edits, Filters, Fit, Position, Resize, Watermark } from './edit.js';
export type { Format } from './formats.js';
export type { Device } from './model.js';
export { UsageError, InputError, ModelError, AbortError } from './errors.js';
export { readManifest, modelNames, type ManifestEntry } from './catalog.js';
