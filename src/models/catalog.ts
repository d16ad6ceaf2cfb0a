/** The models `--model` can name: the shipped ONNX networks (models/manifest.json) and the classic baselines. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../core/errors.js';
import { messages } from '../core/messages.js';
import type { Interpolation } from '../pixels/resample.js';
import type { ShippedModel } from './model-names.js';

export interface ManifestEntry {
  name: string;
  file: string;
  sha256: string;
  scale: number;
  architecture: 'RRDBNet' | 'SRVGGNetCompact' | 'CUNet';
  parameters: number;
  macsPerPixel: number;
  receptiveFieldRadius: number;
  bestFor: string;
  speedClass: 'fast' | 'slow';
  licence: string;
  source: { package: string; path: string; sha256: { param: string; bin: string } };
  /**
   * Set when this graph is another shipped model's (the same weights) followed by one bicubic resize to this
   * model's scale: the tool runs that network and resizes the stitched image once, which is faster than
   * onnxruntime's in-graph Resize (measured: ×2 and ×3 took 1.2× and 1.5× the time of ×4 itself).
   */
  runs?: { network: string; resize: 'bicubic'; cubicA: number };
  /** The denoise level the weights were trained for, which `--noise` picks: Real-CUGAN and waifu2x CUNet. */
  noise?: Noise;
  /**
   * Tile windows must start at a multiple of this many input pixels (strided U-Nets compute a different pixel grid
   * at other offsets); absent: any.
   */
  align?: number;
  /**
   * The network's global average poolings (the U-Nets' squeeze-and-excitation blocks), in graph order: pixel j of
   * pool k's feature map sits at input pixel j / scale + offset. Tiled runs gather each one's mean over the whole
   * image and feed it to every tile (see the `pool<k>.*` inputs of these ONNX files).
   */
  pools?: PoolGeometry[];
  /**
   * The int8 form of this network (SRVGG networks that run themselves): its file, and its PSNR against this float32
   * model on the held-out set (fixtures/held-out, none of it calibrated on): the worst image, and the median.
   */
  int8?: { file: string; sha256: string; worstPsnr: number; worstImage: string; medianPsnr: number };
}

/** `--noise`: a denoise level, 0 (none) to 3 (strongest), or Real-CUGAN's conservative weights. */
export type Noise = 'conservative' | 0 | 1 | 2 | 3;

export interface PoolGeometry {
  channels: number;
  scale: number;
  offset: number;
}

/**
 * The frame-interpolation network (`--interpolate`): RIFE's flow network, which takes two frames and a timestep map
 * (inputs frame0, frame1, timestep; RGB in [0, 1], sides multiples of `align`) and returns the frame in between.
 */
export interface InterpolationEntry {
  name: string;
  file: string;
  sha256: string;
  parameters: number;
  /** Both sides of the frames must be multiples of this (the flow network works at 1/32 of the size at its coarsest). */
  align: number;
  licence: string;
  source: { package: string; path: string; sha256: { param: string; bin: string } };
}

/** models/manifest.json: written by `npm run models:build`, read by `upscale models` and the model catalogue. */
export interface Manifest {
  models: ManifestEntry[];
  interpolation: InterpolationEntry;
}

/** A network to run: a shipped model or a user's .onnx file. */
export interface NetworkModel {
  kind: 'network';
  name: string;
  path: string;
  /** Known for shipped models; a custom file's scale is found by a probe run when it is loaded (see `probedRun`). */
  scale?: number;
  /** Context a tile needs to match whole-image output; Infinity when unknown or beyond any practical overlap. */
  receptiveFieldRadius: number;
  macsPerPixel?: number;
  architecture?: ManifestEntry['architecture'];
  /** Real-ESRGAN's x2/x3 anime graphs are the x4 network plus a bicubic downscale; see `pickVariant`. */
  variants?: ScaledNetwork[];
  /** The network that actually runs, and the bicubic kernel of the resize after it (see ManifestEntry.runs). */
  runs?: { network: ScaledNetwork; cubicA: number };
  /** See ManifestEntry: the denoise level, the window alignment and the global poolings. */
  noise?: Noise;
  align?: number;
  pools?: PoolGeometry[];
  /** Its int8 form, for `--precision` (see ManifestEntry.int8). */
  int8?: { path: string; worstPsnr: number; medianPsnr: number };
}

/** A network whose scale is known: every shipped model, and a custom one once probed. */
export type ScaledNetwork = NetworkModel & { scale: number };

export interface BaselineModel {
  kind: 'baseline';
  name: Interpolation;
}

export type Model = NetworkModel | BaselineModel;

/** What a batch runs, worked out once from `--model` and `--scale`. */
export type Run = BaselineRun | NetworkRun;

export interface BaselineRun {
  kind: 'baseline';
  requested: BaselineModel;
  /** A baseline is its own variant. */
  variant: BaselineModel;
  /** Output scale: `--scale`, or BASELINE_SCALE. */
  scale: number;
}

export interface NetworkRun {
  kind: 'network';
  /** As `--model` named it: a family (realesr-animevideov3), a shipped model or an .onnx file. */
  requested: NetworkModel;
  /** The model that answers at this scale (realesr-animevideov3-x2 at -s 2): the one reported as run. */
  variant: ScaledNetwork;
  /** The graph that runs: the variant itself, or the network it is made of (see ManifestEntry.runs). */
  network: ScaledNetwork;
  /** The bicubic resize after the network, when the variant is a network plus a resize. */
  resize?: { cubicA: number };
  /** Output scale: `--scale`, or the variant's own. */
  scale: number;
}

/** A custom .onnx file before it is loaded: its scale, and so the run's, is known only from a probe run. */
export interface UnprobedRun {
  kind: 'unprobed';
  requested: NetworkModel;
  /** `--scale`, when given. */
  scale?: number;
}

export const BASELINES: readonly Interpolation[] = ['nearest', 'bilinear', 'bicubic'];
export const DEFAULT_MODEL: ShippedModel = 'realesr-general-x4v3';
export const BASELINE_SCALE = 4;

/**
 * Tile context: a network's receptive-field radius when it is known and at most MAX_FIELD_OVERLAP, else
 * FALLBACK_OVERLAP (a field too wide to cover in every tile is approximated by blending).
 */
export const MAX_FIELD_OVERLAP = 64;
export const FALLBACK_OVERLAP = 32;

export const modelsDir = fileURLToPath(new URL('../../models/', import.meta.url));

let manifest: Manifest | undefined;
const manifestFile = (): Manifest => (manifest ??= JSON.parse(readFileSync(`${modelsDir}manifest.json`, 'utf8')) as Manifest);

export function readManifest(): ManifestEntry[] {
  return manifestFile().models;
}

/** The frame-interpolation network, with its file's path. */
export function readInterpolation(): InterpolationEntry & { path: string } {
  const entry = manifestFile().interpolation;
  return { ...entry, path: `${modelsDir}${entry.file}` };
}

function networkFrom(entry: ManifestEntry): ScaledNetwork {
  const runs = entry.runs && readManifest().find((e) => e.name === entry.runs!.network);
  return {
    ...(runs && { runs: { network: networkFrom(runs), cubicA: entry.runs!.cubicA } }),
    kind: 'network',
    name: entry.name,
    path: `${modelsDir}${entry.file}`,
    scale: entry.scale,
    receptiveFieldRadius: entry.receptiveFieldRadius,
    macsPerPixel: entry.macsPerPixel,
    architecture: entry.architecture,
    ...(entry.noise !== undefined && { noise: entry.noise }),
    ...(entry.align && { align: entry.align }),
    ...(entry.pools && { pools: entry.pools }),
    ...(entry.int8 && { int8: { path: `${modelsDir}${entry.int8.file}`, worstPsnr: entry.int8.worstPsnr, medianPsnr: entry.int8.medianPsnr } }),
  };
}

/**
 * Names that families of shipped models answer to: `realesr-animevideov3` for its -x2/-x3/-x4 variants, `realcugan`
 * for realcugan-x2-conservative … realcugan-x4-denoise3x. Within a scale the first variant in the manifest is the
 * one run without `--noise` (the upstream tools' defaults: Real-CUGAN's conservative weights, waifu2x's noise 0).
 */
function families(entries: ManifestEntry[]): Map<string, ManifestEntry[]> {
  const groups = new Map<string, ManifestEntry[]>();
  for (const entry of entries) {
    const family = /^(.*)-x\d(?:-[a-z0-9-]+)?$/.exec(entry.name)?.[1];
    if (family && !entries.some((e) => e.name === family)) groups.set(family, [...(groups.get(family) ?? []), entry]);
  }
  return groups;
}

/** What `model` takes: a shipped model or family, a baseline, or a path to an ONNX file. */
export type ModelName = ShippedModel | Interpolation | `${string}.onnx`;

/** The names of the shipped models and their families, from the catalogue's entries, sorted. */
function shippedNames(entries: ManifestEntry[]): string[] {
  return [...entries.map((e) => e.name), ...families(entries).keys()].sort();
}

/**
 * src/models/model-names.ts as `npm run models:build` writes it: the shipped names as a type, so a library caller's
 * misspelt `model` fails to compile (a test checks the file matches the manifest).
 */
export function modelNamesSource(entries: ManifestEntry[]): string {
  const names = shippedNames(entries).map((name) => `  | '${name}'`).join('\n');
  return `// Written by \`npm run models:build\` from models/manifest.json: do not edit.\n/** The shipped models and model families \`model\` names. */\nexport type ShippedModel =\n${names};\n`;
}

/** Whether a network has an int8 form: its own, or the network it runs (a family's and the x2/x3 anime graphs' is the x4's). */
export function hasInt8(model: NetworkModel): boolean {
  return (model.runs?.network ?? model).int8 !== undefined;
}

/**
 * The names `--model` accepts, for help and error messages; the denoise variants (realcugan-x2-denoise1x …) are
 * accepted too but left to `upscale models`, their families standing for them.
 */
export function modelNames(): string[] {
  const entries = readManifest();
  const variant = (name: string) => entries.some((e) => e.name === name && e.noise !== undefined);
  return [...shippedNames(entries).filter((name) => !variant(name)), ...BASELINES].sort();
}

/** The families with denoise levels, for `--noise`'s messages. */
function noiseFamilies(): string[] {
  return [...families(readManifest()).entries()].filter(([, variants]) => variants.some((v) => v.noise !== undefined)).map(([name]) => name);
}

/** `x2: conservative, 0, 1; x4: conservative, 0` — what a model or family offers. */
function noiseOffer(variants: readonly ScaledNetwork[]): string {
  const scales = [...new Set(variants.map((v) => v.scale))].sort((a, b) => a - b);
  return scales.map((s) => `x${s}: ${variants.filter((v) => v.scale === s).map((v) => v.noise).join(', ')}`).join('; ');
}

/** Resolves a model name or `.onnx` path; undefined when the name is unknown. */
export function findModel(name: string): Model | undefined {
  if ((BASELINES as readonly string[]).includes(name)) return { kind: 'baseline', name: name as Interpolation };
  if (name.toLowerCase().endsWith('.onnx')) return { kind: 'network', name, path: name, receptiveFieldRadius: Infinity };
  const entries = readManifest();
  const entry = entries.find((e) => e.name === name);
  if (entry) return networkFrom(entry);
  const variants = families(entries).get(name);
  if (variants) return { ...networkFrom(variants[variants.length - 1]!), name, variants: variants.map(networkFrom) };
  return undefined;
}

/**
 * For a family, the variant whose scale is nearest the requested one (ties go to the larger), and at that scale
 * the one trained for `noise` (by default the first). A denoise level the model lacks is a usage error.
 */
function pickVariant(model: ScaledNetwork, scale: number | undefined, noise: Noise | undefined, option: string): ScaledNetwork {
  const variants = model.variants ?? [model];
  if (noise !== undefined && variants.every((v) => v.noise === undefined)) throw new UsageError(messages.noiseUnsupported(option, model.name, noiseFamilies()));
  const target = scale ?? Math.max(...variants.map((v) => v.scale));
  const distance = (v: ScaledNetwork) => Math.abs(v.scale - target);
  const nearest = variants.reduce((best, v) => (distance(v) < distance(best) || (distance(v) === distance(best) && v.scale > best.scale) ? v : best));
  const chosen = noise === undefined ? nearest : variants.find((v) => v.scale === nearest.scale && v.noise === noise);
  if (!chosen) throw new UsageError(messages.noiseUnavailable(option, model.name, String(noise), nearest.scale, noiseOffer(variants)));
  return chosen;
}

function isScaled(model: NetworkModel): model is ScaledNetwork {
  return model.scale !== undefined;
}

/**
 * The run for a model, `--scale` and `--noise`; a custom network is unprobed until loaded (then see `probedRun`).
 * Throws a UsageError when the model has no such denoise level, naming the option as `noiseOption`.
 */
export function resolveRun(requested: Model, scale: number | undefined, noise?: Noise, noiseOption = 'noise'): Run | UnprobedRun {
  if (noise !== undefined && (requested.kind === 'baseline' || !isScaled(requested))) {
    throw new UsageError(messages.noiseUnsupported(noiseOption, requested.name, noiseFamilies()));
  }
  if (requested.kind === 'baseline') return { kind: 'baseline', requested, variant: requested, scale: scale ?? BASELINE_SCALE };
  if (!isScaled(requested)) return { kind: 'unprobed', requested, ...(scale !== undefined && { scale }) };
  return networkRun(requested, pickVariant(requested, scale, noise, noiseOption), scale);
}

/** A custom network's run once loading it has probed its scale: the file is its own variant and network. */
export function probedRun(run: UnprobedRun, networkScale: number): NetworkRun {
  return networkRun(run.requested, { ...run.requested, scale: networkScale }, run.scale);
}

function networkRun(requested: NetworkModel, variant: ScaledNetwork, scale: number | undefined): NetworkRun {
  return {
    kind: 'network',
    requested,
    variant,
    network: variant.runs?.network ?? variant,
    ...(variant.runs && { resize: { cubicA: variant.runs.cubicA } }),
    scale: scale ?? variant.scale,
  };
}
