/**
 * `upscale(inputs, options)`: the library entry point, and everything the CLI uses.
 * Wires the stages: discover → plan → (per image, in a pool) decode → tiles → model → stitch → edit → encode → write.
 */
import pLimit from 'p-limit';
import { probedRun, resolveRun, type NetworkModel, type Run } from './catalog.js';
import { discover } from './discover.js';
import { checkWatermark } from './edit.js';
import { AbortError } from './errors.js';
import { loadNetwork, type Network } from './inference.js';
import { resolveOptions, type UpscaleOptions } from './options.js';
import { processFile, type Context, type FileResult } from './pipeline.js';
import { planOutputs } from './outputs.js';
import { interruptedResult, makeReport, type Batch, type UpscaleReport } from './summary.js';
import { preparePage } from './pages.js';
import { REPORT_FLAG, writeReportPage } from './report.js';

export async function upscale(inputs: string | readonly string[], options: UpscaleOptions = {}): Promise<UpscaleReport> {
  const started = performance.now();
  const resolved = resolveOptions(options);
  if (resolved.edits.watermark) await checkWatermark(resolved.edits.watermark.path);
  // Before the batch: a report that cannot be written should not be found out hours later.
  if (resolved.report !== undefined) await preparePage(resolved.report, REPORT_FLAG);
  const { sources, earlierOutputs } = await discover(typeof inputs === 'string' ? [inputs] : inputs, resolved.output);
  const chosen = resolveRun(resolved.model, resolved.scale);
  const load = (model: NetworkModel) => loadNetwork(model, { device: resolved.device, onDeviceChosen: resolved.onNotice });
  let network: Network | undefined;
  let run: Run;
  if (chosen.kind === 'unprobed') {
    // A custom model's scale is known only once it is loaded and probed, and a dry run must still report it.
    network = await load(chosen.requested);
    run = probedRun(chosen, network.scale);
  } else {
    run = chosen;
    if (run.kind === 'network' && !resolved.dryRun) network = await load(run.network);
  }
  try {
    const planned = await planOutputs(sources, { output: resolved.output, format: resolved.format, scale: run.scale });
    const batch: Batch = {
      files: planned.map(({ input, output }) => ({ input, output })),
      earlierOutputs,
      model: run.variant.name,
      scale: run.scale,
      device: network?.device ?? 'cpu',
    };
    resolved.onEvent?.({ type: 'plan', ...batch });
    const context: Context = { options: resolved, run, network, imagesInFlight: Math.min(resolved.concurrency, planned.length) };
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
    await network?.release();
  }
}

export { resolveOptions, type UpscaleOptions, type UpscaleEvent, type ResolvedOptions } from './options.js';
export type { FileResult, Timings } from './pipeline.js';
export type { Batch, UpscaleReport, UpscaleSummary } from './summary.js';
export type { Image, ImageMetadata } from './image.js';
export type { Annotation, Colour, Crop, Edits, Filters, Fit, Position, Resize, Watermark } from './edit.js';
export type { Format } from './formats.js';
export type { Device } from './inference.js';
export { UsageError, InputError, ModelError, AbortError } from './errors.js';
export { readManifest, modelNames, type ManifestEntry } from './catalog.js';
export { compare, type CompareOptions, type CompareReport } from './compare.js';
export type { CompareResult } from './pages.js';
