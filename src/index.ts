/**
 * The package's public entry: re-exports only. The batch lives in run/batch.ts; README "Project layout" lists the
 * stages.
 */
export { upscale, upscaleImage, runBatch, runImage, type ImageOptions } from './run/batch.js';
export { resolveOptions, type UpscaleOptions, type ResolvedOptions } from './options/options.js';
export type { Batch, BufferInfo, FileResult, Shard, Timings, UpscaleEvent, UpscaleReport, UpscaleSummary } from './core/results.js';
export type { Image, ImageMetadata } from './core/image.js';
export type { Annotation, Colour, Crop, Edits, Filters, Fit, Position, Resize, Watermark } from './pixels/edit.js';
export type { Format } from './core/formats.js';
export type { Device } from './inference/providers.js';
export { UsageError, InputError, ModelError, AbortError } from './core/errors.js';
export { ERROR_CODES, type ErrorCode } from './core/messages.js';
export { readManifest, modelNames, type ManifestEntry, type ModelName } from './models/catalog.js';
export type { ShippedModel } from './models/model-names.js';
export type { FormatAlias } from './core/formats.js';
export { compare, type CompareOptions, type CompareReport } from './run/compare.js';
export type { CompareResult } from './pages/pages.js';
