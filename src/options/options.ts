/**
 * The options, each defined once in `OPTIONS`: its flag, argument, help and parser (with the bounds or choices that
 * both the help and the error message quote), and its default. The CLI builds its program from the table, and
 * `resolveOptions` checks every value against it; what only the file system can tell (a watermark's content, whether
 * a --report page can be written) is checked once more as a run starts (run/batch.ts), before any image. Everything
 * downstream takes a ResolvedOptions and trusts it. Values may come as strings (from the command line) or typed (from library callers).
 */
import { availableParallelism } from 'node:os';
import { BASELINE_SCALE, DEFAULT_MODEL, FALLBACK_OVERLAP, findModel, hasInt8, modelNames, type Model, type ModelName, type Noise } from '../models/catalog.js';
import { FITS, POSITIONS, type Annotation, type Crop, type Edits, type Fit, type Position, type Resize, type Watermark } from '../pixels/edit.js';
import { AUDIO_MODES, FORMATS, VIDEO, VIDEO_CODEC_NAMES, VIDEO_CODECS, writableFormatOf, type Format, type AudioMode, type FormatAlias, type VideoCodec } from '../core/formats.js';
import { DEFAULT_NAMES } from '../inputs/names.js';
import { SCENE_THRESHOLD } from '../pixels/frames.js';
import { UsageError } from '../core/errors.js';
import { messages } from '../core/messages.js';
import { DEVICES, PRECISIONS, type Device, type Precision } from '../inference/providers.js';
import { CPU_FEATURES_VARIABLE, hasVnni } from '../inference/cpu.js';
import { SHARD_COUNT_VARIABLE, SHARD_ENVIRONMENTS } from '../inputs/shard.js';
import type { Shard, UpscaleEvent } from '../core/results.js';
import { ALPHA_MODELS, colour, crop, executable, htmlFile, integer, model, nameTemplate, noise, nonEmpty, number, oneOf, optionalValue, resize, shard, shardCount, text, toggle, watermarkFile, zeroOr, type AlphaModel, type Parser } from './parsers.js';

/**
 * What a caller may pass to `upscale()`; the CLI passes its flags through unchanged. Each option has its entry in
 * `OPTIONS` (checked by the compiler), which holds its range, choices and default.
 */
export interface UpscaleOptions {
  /** A folder (the input tree is mirrored below it) or, with one input, a file. */
  output?: string;
  /** File inputs below this folder keep their path below it in the output folder (folder inputs always do). */
  base?: string;
  /**
   * The output name's template, relative to `output` (or to each input's folder without one): `{stem}`, `{ext}`,
   * `{model}`, `{scale}`, `{dir}` (the input's folder below the one walked). Default `{dir}/{stem}.{ext}` with an
   * output folder, `{stem}-x{scale}.{ext}` beside the input.
   */
  name?: string;
  /** A shipped model name, a baseline (`nearest`, `bilinear`, `bicubic`) or a path to an `.onnx` file. */
  model?: ModelName;
  /** Output scale, fractions too; default: the model's own. */
  scale?: number | string;
  /** Denoise level of realcugan and waifu2x-cunet: 0 (none) to 3, or `conservative` (Real-CUGAN). */
  noise?: Noise | string;
  /** Test-time augmentation: the mean of the model's output over the 8 flips and rotations of the input. */
  tta?: boolean;
  /** 1 (default): the model's output; below 1, blended with a lanczos enlargement of the input at 1 − strength. */
  strength?: number | string;
  /** How a translucent alpha plane is enlarged: by the model (default), or by bicubic interpolation (faster). */
  alphaModel?: AlphaModel | string;
  /** Tile edge in input pixels; 0 = whole image in one run; default: the largest that fits `memory`. */
  tile?: number | string;
  /** Context added around each tile, in input pixels. */
  tileOverlap?: number | string;
  device?: Device | string;
  /**
   * `fp32` (default: the same picture on every CPU), `int8` (the models with an int8 form, on the CPU; faster on CPUs
   * with VNNI, close to fp32 but not equal), or `auto`: int8 where the CPU has VNNI (see cpu.ts), else fp32.
   */
  precision?: Precision | string;
  /** Images in flight at once. */
  concurrency?: number | string;
  format?: Format | FormatAlias;
  quality?: number | string;
  /** Of an animated input, the one frame (0-based) to upscale as a still. */
  frame?: number | string;
  /** Videos and animations: n frames for each source frame, n − 1 of them made by RIFE between each pair (2 to 8). */
  interpolate?: number | string;
  /** With `interpolate`: the frame difference, in percent, at which a step counts as a scene cut (default 10). */
  sceneThreshold?: number | string;
  /** Video encoder: h264 (default for mp4, mov, mkv, avi), h265 or vp9 (default for webm). */
  /** A video's audio: `auto` (default) copies it where the container holds it and encodes it where not; or always `copy` or `encode`. */
  audio?: AudioMode | string;
  videoCodec?: VideoCodec | string;
  /** Video constant-quality level (lower is better): default 18 for h264, 20 for h265, 31 for vp9. */
  crf?: number | string;
  /** The ffmpeg executable for videos; default: the one installed with the package (the CLI passes $UPSCALE_FFMPEG). */
  ffmpeg?: string;
  /** `left,top,width,height` in output pixels. */
  crop?: Crop | string;
  rotate?: number | string;
  flip?: boolean;
  flop?: boolean;
  /** `WxH`, `Wx` or `xH`: fit inside, aspect kept; `WxH!`: exactly that size. */
  resize?: Resize | string;
  /** Shorthands for `--resize Wx` and `--resize xH`. */
  width?: number | string;
  height?: number | string;
  fit?: Fit | string;
  brightness?: number | string;
  saturation?: number | string;
  hue?: number | string;
  gamma?: number | string;
  contrast?: number | string;
  /** true, or the sigma of the unsharp mask. */
  sharpen?: boolean | number | string;
  blur?: number | string;
  grayscale?: boolean;
  normalize?: boolean;
  denoise?: number | string;
  watermark?: string;
  watermarkPosition?: Position | string;
  /** Pixels between the watermark and the edges; default 1/40 of the output's shorter side. */
  watermarkMargin?: number | string;
  watermarkOpacity?: number | string;
  watermarkScale?: number | string;
  annotate?: string;
  annotatePosition?: Position | string;
  annotateSize?: number | string;
  annotateColour?: string;
  overwrite?: boolean;
  skipExisting?: boolean;
  dryRun?: boolean;
  stripMetadata?: boolean;
  /** Largest input accepted, in pixels (decompression-bomb guard). */
  maxPixels?: number | string;
  /** Memory budget for the whole run (both processes), in MiB; picks the default tile size. */
  memory?: number | string;
  /** An .html file: once the batch is done, a page showing every file before and after (see report.ts). */
  report?: string;
  /**
   * Process only this share of the inputs, for many machines running the same command: `'2/3'` or
   * `{ index: 2, count: 3 }` (from 1), or `'auto'` to read it from `env` (see shard.ts).
   */
  shard?: Shard | 'auto' | string;
  /** The shard count for `shard: 'auto'` where the environment gives none (a Kubernetes Indexed Job). */
  shardCount?: number | string;
  /** Where `shard: 'auto'` and UPSCALE_CPU_FEATURES (cpu.ts) are read; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  onEvent?: (event: UpscaleEvent) => void;
  /**
   * One line when `device` or `precision` is chosen here, when 16-bit images run in fp32 under int8, or when an
   * image cannot fit `memory` even in 16 px tiles.
   */
  onNotice?: (line: string) => void;
  signal?: AbortSignal;
}

/** How messages name an option: as the library's key (`scale`) or as the command line's flag (`--scale`). */
export type Spelling = 'option' | 'flag';

export interface ResolvedOptions {
  /** An option's name as this caller knows it, for messages: `scale` for the library, `--scale` for the CLI. */
  optionName: (key: OptionKey) => string;
  output?: string;
  base?: string;
  name?: string;
  model: Model;
  scale?: number;
  noise?: Noise;
  tta: boolean;
  strength: number;
  alphaModel: AlphaModel;
  tile?: number;
  tileOverlap?: number;
  device: Device;
  precision: Precision;
  /** Whether the CPU counts as having VNNI (cpu.ts: UPSCALE_CPU_FEATURES in `env`, else the CPU's own flags). */
  vnni: boolean;
  concurrency: number;
  format?: Format;
  quality?: number;
  frame?: number;
  interpolate?: number;
  sceneThreshold: number;
  audio: AudioMode;
  videoCodec?: VideoCodec;
  crf?: number;
  ffmpeg?: string;
  edits: Edits;
  overwrite: boolean;
  skipExisting: boolean;
  dryRun: boolean;
  stripMetadata: boolean;
  maxPixels: number;
  memory: number;
  report?: string;
  /** This run's share of the inputs; undefined: all of them. */
  shard?: Shard;
  onEvent?: (event: UpscaleEvent) => void;
  onNotice?: (line: string) => void;
  signal?: AbortSignal;
}

const DEFAULT_MAX_PIXELS = 100_000_000;
const DEFAULT_MEMORY_MIB = 2048;
/** Where the watermark and the annotation go when their positions are not given: apart, so they do not overlap. */
const PLACEMENT = { watermark: 'southeast', annotate: 'southwest' } as const satisfies Record<string, Position>;

/** One option: its command-line form, its help and how its value is read. Its flag is its key in kebab case. */
export interface OptionSpec<In> {
  /** One letter, for `-x`. */
  short?: string;
  /** `<name>` for a value, `[name]` for one that may be left out; none for a switch. */
  arg?: `<${string}>` | `[${string}]`;
  /** Help; a function is given the parser's `text` (range or choices) to place where it reads best. */
  help: string | ((text: string) => string);
  parse: Parser<In, unknown>;
  /** The value when the option is not given, read by the parser like a given one; help shows it. */
  default?: In;
  /** Another spelling of the flag, accepted but not shown in help. */
  alias?: string;
}

export type OptionKey = Exclude<keyof UpscaleOptions, 'env' | 'onEvent' | 'onNotice' | 'signal'>;

/** Every option of `UpscaleOptions`, no more: a missing or extra entry, or a parser for another type, does not compile. */
export type OptionTable = { [K in OptionKey]-?: OptionSpec<Exclude<UpscaleOptions[K], undefined>> };

/** "h264, vp9 for webm": the codec most containers default to, then the others with their containers. */
function defaultCodecs(): string {
  const [usual, ...others] = containersBy('codec').sort((a, b) => b[1].length - a[1].length);
  return [usual![0], ...others.map(([codec, containers]) => `${codec} for ${containers.join(', ')}`)].join(', ');
}

/** "aac for mp4, mov, …": the encoder each container's audio is encoded with. */
function audioEncoders(): string {
  return containersBy('audio').map(([encoder, containers]) => `${encoder} for ${containers.join(', ')}`).join('; ');
}

/** The video containers grouped by one field of their table entry: [value, containers] in table order. */
function containersBy(field: 'codec' | 'audio'): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const [container, spec] of Object.entries(VIDEO)) groups.set(spec[field], [...(groups.get(spec[field]) ?? []), container]);
  return [...groups];
}

/** "18 for h264 (0-51), …": each codec's default and range. */
function crfDefaults(): string {
  return VIDEO_CODEC_NAMES.map((codec) => `${VIDEO_CODECS[codec].defaultCrf} for ${codec} (0-${VIDEO_CODECS[codec].maxCrf})`).join(', ');
}

export const OPTIONS = {
  output: { short: 'o', arg: '<path>', help: 'output folder (input tree mirrored below it) or, with one input, output file', parse: text },
  base: {
    arg: '<dir>',
    help: 'mirror file inputs below this folder in the output folder, as a folder input is (default with --files-from: the listed files\' common folder; else each file by its name)',
    parse: text,
  },
  name: {
    arg: '<template>',
    help: (fields) =>
      `output name relative to the output folder (or to each input's folder without -o), with ${fields}; default ${DEFAULT_NAMES.inFolder} with -o, ${DEFAULT_NAMES.beside} without`,
    parse: nameTemplate,
  },
  model: {
    short: 'm',
    arg: '<name|file.onnx>',
    help: (names) => `model: ${names}, or an .onnx file`,
    parse: model,
    default: DEFAULT_MODEL,
  },
  scale: {
    short: 's',
    arg: '<n>',
    help: (range) => `output scale, ${range}, fractions too (default: the model's own, ${BASELINE_SCALE} for baselines)`,
    parse: number(1, 16),
  },
  noise: {
    arg: '<level>',
    help: (levels) => `denoise level of realcugan (default conservative) and waifu2x-cunet (default 0), ${levels}; see \`upscale models\``,
    parse: noise,
  },
  tta: { help: 'the mean of the model over the 8 flips and rotations of the input: 8x the work, slightly cleaner', parse: toggle, default: false },
  strength: {
    arg: '<fraction>',
    help: (range) => `blend the model's output with a lanczos enlargement of the input, ${range} (1 = the model alone)`,
    parse: number(0, 1),
    default: 1,
  },
  alphaModel: {
    arg: '<how>',
    help: (choices) => `how a translucent alpha plane is enlarged: ${choices} (bicubic is faster)`,
    parse: oneOf(ALPHA_MODELS),
    default: 'model',
  },
  tile: {
    arg: '<px>',
    help: (range) => `tile edge in input pixels, ${range}; 0 = whole image in one run (default: largest that fits --memory)`,
    parse: zeroOr(integer(16, 4096)),
  },
  tileOverlap: {
    arg: '<px>',
    help: (range) => `context around each tile, ${range} (default: the model's receptive field, or ${FALLBACK_OVERLAP})`,
    parse: integer(0, 512),
  },
  device: { arg: '<device>', help: (devices) => `execution provider: ${devices}`, parse: oneOf(DEVICES), default: 'auto' },
  precision: {
    arg: '<precision>',
    help: (choices) =>
      `${choices}: fp32 is the same picture on every CPU; int8 (CPU only; models with an int8 form, see \`upscale models\`) is faster on CPUs with VNNI and close to fp32, not equal; auto: int8 where the CPU has VNNI (or ${CPU_FEATURES_VARIABLE}=vnni), else fp32`,
    parse: oneOf(PRECISIONS),
    default: 'fp32',
  },
  concurrency: {
    short: 'j',
    arg: '<n>',
    help: (range) => `images in flight, ${range} (default: ${NETWORK_CONCURRENCY} for networks, one per core for baselines)`,
    parse: integer(1, 64),
  },
  format: {
    short: 'f',
    arg: '<format>',
    help: (formats) => `image output format: ${formats} (default: the input's, or the -o file's extension); videos keep their container`,
    // Any of a format's extensions names it too (jpg, tif).
    parse: oneOf(FORMATS, writableFormatOf),
  },
  quality: { short: 'q', arg: '<n>', help: (range) => `quality for jpeg, webp and avif, ${range}`, parse: integer(1, 100) },
  frame: { arg: '<n>', help: (range) => `upscale only frame n (${range}, from 0) of an animated gif or webp, as a still image`, parse: integer(0, 65535) },
  interpolate: {
    arg: '<n>',
    help: (range) => `videos and animated gif/webp: n times the frames (${range}), the new ones made by RIFE v4.6 between each pair, before the upscale; timestamps and delays divided, audio kept in sync`,
    parse: integer(2, 8),
  },
  sceneThreshold: {
    arg: '<percent>',
    help: (range) => `with --interpolate: a step whose frame difference is at least this (${range}; ffmpeg's scene score) is a cut, where the frame is repeated instead of blended`,
    parse: number(0, 100),
    default: SCENE_THRESHOLD,
  },
  audio: {
    arg: '<mode>',
    help: (modes) => `a video's audio: ${modes}; auto copies it where the output container holds it and encodes it where not (${audioEncoders()})`,
    parse: oneOf(AUDIO_MODES),
    default: 'auto',
  },
  videoCodec: { arg: '<codec>', help: (codecs) => `video encoder: ${codecs} (default: ${defaultCodecs()})`, parse: oneOf(VIDEO_CODEC_NAMES) },
  crf: {
    arg: '<n>',
    help: (range) => `video quality, ${range}, lower is better (default: ${crfDefaults()})`,
    parse: integer(0, Math.max(...VIDEO_CODEC_NAMES.map((codec) => VIDEO_CODECS[codec].maxCrf))),
  },
  ffmpeg: { arg: '<path>', help: 'ffmpeg executable for videos (default: $UPSCALE_FFMPEG, else the one installed with upscale)', parse: executable },
  crop: { arg: '<left,top,width,height>', help: 'crop the upscaled image (output pixels)', parse: crop },
  rotate: { arg: '<degrees>', help: (range) => `rotate clockwise, ${range}`, parse: number(-360, 360) },
  flip: { help: 'mirror vertically', parse: toggle, default: false },
  flop: { help: 'mirror horizontally', parse: toggle, default: false },
  resize: { arg: '<WxH|Wx|xH|WxH!>', help: 'resize: fit inside, aspect kept; WxH! forces exactly WxH', parse: resize },
  width: { arg: '<px>', help: (range) => `shorthand for --resize <px>x, ${range}`, parse: integer(1, 1_000_000) },
  height: { arg: '<px>', help: (range) => `shorthand for --resize x<px>, ${range}`, parse: integer(1, 1_000_000) },
  fit: { arg: '<mode>', help: (fits) => `how --resize WxH fits: ${fits} (inside by default)`, parse: oneOf(FITS) },
  brightness: { arg: '<factor>', help: (range) => `multiply brightness, ${range} (1 = unchanged)`, parse: number(0, 10) },
  saturation: { arg: '<factor>', help: (range) => `multiply saturation, ${range} (0 = grey)`, parse: number(0, 10) },
  hue: { arg: '<degrees>', help: (range) => `rotate hue, ${range}`, parse: number(-360, 360) },
  contrast: { arg: '<factor>', help: (range) => `scale contrast around mid-grey, ${range} (1 = unchanged)`, parse: number(0, 10) },
  gamma: {
    arg: '<value>',
    help: (range) => `gamma ${range}: output = input^(1/gamma); above 1 brightens mid-tones`,
    parse: number(0.1, 10),
  },
  grayscale: { help: 'convert to single-channel grey', parse: toggle, default: false },
  normalize: { help: 'stretch contrast to the full range', parse: toggle, default: false },
  denoise: { arg: '<strength>', help: (range) => `median filter of (2 x strength + 1) px, strength ${range}`, parse: integer(1, 10) },
  blur: { arg: '<sigma>', help: (range) => `Gaussian blur, sigma ${range}`, parse: number(0.3, 1000) },
  sharpen: { arg: '[sigma]', help: (range) => `unsharp mask; optional sigma ${range}`, parse: optionalValue(number(0.01, 10)) },
  watermark: { arg: '<file>', help: 'composite this image over the output', parse: watermarkFile },
  watermarkPosition: { arg: '<pos>', help: (positions) => `where the watermark goes: ${positions}`, parse: oneOf(POSITIONS), default: PLACEMENT.watermark },
  watermarkMargin: { arg: '<px>', help: (range) => `pixels between the watermark and the edges, ${range} (default: 1/40 of the output's shorter side)`, parse: integer(0, 100_000) },
  watermarkOpacity: { arg: '<fraction>', help: (range) => `watermark opacity, ${range}`, parse: number(0, 1), default: 0.5 },
  watermarkScale: {
    arg: '<fraction>',
    help: (range) => `watermark width as a fraction of the output width, ${range}`,
    parse: number(0.01, 1),
    default: 0.2,
  },
  annotate: { arg: '<text>', help: 'draw this text on the output', parse: nonEmpty },
  annotatePosition: { arg: '<pos>', help: (positions) => `where the text goes: ${positions}`, parse: oneOf(POSITIONS), default: PLACEMENT.annotate },
  annotateSize: {
    arg: '<px>',
    help: (range) => `text height in output pixels, ${range} (default: 1/20 of the height)`,
    parse: integer(4, 2000),
  },
  annotateColour: {
    arg: '<colour>',
    help: 'text colour: #rgb, #rrggbb or a CSS name',
    parse: colour,
    default: 'white',
    alias: 'annotate-color',
  },
  overwrite: { help: 'replace existing outputs', parse: toggle, default: false },
  skipExisting: { help: 'leave existing outputs alone (resume a batch)', parse: toggle, default: false },
  dryRun: { help: 'print the plan, write nothing', parse: toggle, default: false },
  stripMetadata: { help: 'drop ICC profile, EXIF and XMP from outputs', parse: toggle, default: false },
  maxPixels: {
    arg: '<n>',
    help: (range) => `largest input in pixels, ${range}; larger ones are refused`,
    parse: integer(1, Number.MAX_SAFE_INTEGER),
    default: DEFAULT_MAX_PIXELS,
  },
  memory: {
    arg: '<MiB>',
    help: (range) => `memory budget for the whole run in MiB, ${range}; picks the default tile`,
    parse: integer(256, 1_048_576),
    default: DEFAULT_MEMORY_MIB,
  },
  report: { arg: '<file.html>', help: 'also write a page showing every file before and after, with thumbnails, sizes and errors', parse: htmlFile },
  shard: {
    arg: '<i/n|auto>',
    help: `process only the i-th of n shares of the inputs (sorted by path, dealt in turn), for n machines running the same command; auto reads ${SHARD_ENVIRONMENTS.map((e) => e.index).join(', ')}`,
    parse: shard,
  },
  shardCount: {
    arg: '<n>',
    help: (range) => `the shard count for --shard auto where the environment has none (a Kubernetes Indexed Job's completions), ${range}; or set ${SHARD_COUNT_VARIABLE}`,
    parse: shardCount,
  },
} satisfies OptionTable;

/** `tileOverlap` → `--tile-overlap`: what the CLI is given, and what messages name. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

type Table = typeof OPTIONS;

/** Each option's checked value; undefined only when it was not given and has no default. */
type Values = {
  [K in OptionKey]: ReturnType<Table[K]['parse']['parse']> | (Table[K] extends { default: unknown } ? never : undefined);
};

function parseAll(options: UpscaleOptions, name: (key: OptionKey) => string): Values {
  const values: Partial<Record<OptionKey, unknown>> = {};
  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    const spec = OPTIONS[key] as OptionSpec<unknown>;
    const value = options[key] ?? spec.default;
    values[key] = value === undefined ? undefined : spec.parse.parse(value, name(key));
  }
  return values as Values;
}

/** Checks every option; messages name them as `spelling` says (the CLI passes 'flag'). */
export function resolveOptions(options: UpscaleOptions = {}, spelling: Spelling = 'option'): ResolvedOptions {
  const name = (key: OptionKey) => (spelling === 'flag' ? flagOf(key) : key);
  const values = parseAll(options, name);
  if (values.overwrite && values.skipExisting) throw new UsageError(messages.conflictingFlags(name('overwrite'), name('skipExisting')));
  // A dry run writes nothing, and has no outputs to show.
  if (values.dryRun && values.report !== undefined) throw new UsageError(messages.conflictingFlags(name('dryRun'), name('report')));
  return {
    optionName: name,
    output: values.output,
    base: values.base,
    name: values.name,
    model: values.model,
    scale: values.scale,
    ...(values.noise !== undefined && { noise: values.noise }),
    tta: values.tta,
    strength: values.strength,
    alphaModel: values.alphaModel,
    tile: values.tile,
    tileOverlap: values.tileOverlap,
    device: values.device,
    precision: checkPrecision(values.precision, values.model, values.device, name),
    vnni: hasVnni(options.env ?? process.env),
    concurrency: values.concurrency ?? defaultConcurrency(values.model),
    format: values.format,
    quality: values.quality,
    frame: values.frame,
    ...(values.interpolate !== undefined && { interpolate: values.interpolate }),
    sceneThreshold: values.sceneThreshold,
    audio: values.audio,
    videoCodec: values.videoCodec,
    crf: crfFor(values.videoCodec, values.crf, options.crf, name('crf')),
    ffmpeg: values.ffmpeg,
    edits: {
      crop: values.crop,
      rotate: values.rotate,
      flip: values.flip,
      flop: values.flop,
      resize: resolveResize(options, values, name),
      colour: {
        brightness: values.brightness,
        saturation: values.saturation,
        hue: values.hue,
        contrast: values.contrast,
        gamma: values.gamma,
      },
      filters: {
        grayscale: values.grayscale,
        normalize: values.normalize,
        denoise: values.denoise,
        blur: values.blur,
        sharpen: values.sharpen,
      },
      watermark: resolveWatermark(options, values, name),
      annotate: resolveAnnotation(options, values, name),
    },
    overwrite: values.overwrite,
    skipExisting: values.skipExisting,
    dryRun: values.dryRun,
    stripMetadata: values.stripMetadata,
    maxPixels: values.maxPixels,
    memory: values.memory,
    report: values.report,
    shard: resolveShard(values.shard, values.shardCount, options.env ?? process.env, name),
    onEvent: options.onEvent,
    onNotice: options.onNotice,
    signal: options.signal,
  };
}

/** int8 needs a network that has an int8 form, and the CPU. */
function checkPrecision(precision: Precision, model: Model, device: Device, name: (key: OptionKey) => string): Precision {
  if (precision !== 'int8') return precision;
  if (model.kind === 'baseline' || !hasInt8(model)) {
    const withInt8 = modelNames().filter((candidate) => {
      const m = findModel(candidate);
      return m?.kind === 'network' && hasInt8(m);
    });
    throw new UsageError(messages.noInt8(name('precision'), model.name, withInt8));
  }
  if (device !== 'auto' && device !== 'cpu') throw new UsageError(messages.conflictingFlags(`${name('precision')} int8`, `${name('device')} ${device}`));
  return precision;
}

/** --crf within the named --video-codec's range (without one, each video's codec is checked when it is met). */
function crfFor(codec: VideoCodec | undefined, crf: number | undefined, given: unknown, option: string): number | undefined {
  const max = codec && VIDEO_CODECS[codec].maxCrf;
  if (crf !== undefined && max !== undefined && crf > max) throw new UsageError(messages.expected(`integer between 0 and ${max}`, option, given));
  return crf;
}

/** --resize, or its --width / --height shorthands, with --fit applied. */
function resolveResize(options: UpscaleOptions, values: Values, name: (key: OptionKey) => string): Resize | undefined {
  const { width, height, fit } = values;
  if (values.resize !== undefined && (width !== undefined || height !== undefined)) {
    throw new UsageError(messages.conflictingFlags(name('resize'), name(width !== undefined ? 'width' : 'height')));
  }
  const resize = values.resize ?? (width !== undefined || height !== undefined ? { width, height } : undefined);
  if (fit === undefined) return resize;
  if (!resize) throw new UsageError(messages.needsFlag(name('fit'), `${name('resize')}, ${name('width')} or ${name('height')}`));
  if (resize.fit === 'fill' && fit !== 'fill') throw new UsageError(messages.conflictingFlags(`${name('resize')} ${String(options.resize)}`, `${name('fit')} ${fit}`));
  return { ...resize, fit };
}

function resolveWatermark(options: UpscaleOptions, values: Values, name: (key: OptionKey) => string): Watermark | undefined {
  if (values.watermark === undefined) {
    const stray = (['watermarkOpacity', 'watermarkScale', 'watermarkPosition', 'watermarkMargin'] as const).find((key) => options[key] !== undefined);
    if (stray) throw new UsageError(messages.needsFlag(name(stray), `${name('watermark')} <file>`));
    return undefined;
  }
  const margin = values.watermarkMargin;
  return { path: values.watermark, position: values.watermarkPosition, opacity: values.watermarkOpacity, scale: values.watermarkScale, ...(margin !== undefined && { margin }) };
}

function resolveAnnotation(options: UpscaleOptions, values: Values, name: (key: OptionKey) => string): Annotation | undefined {
  if (values.annotate === undefined) {
    const stray = (['annotateSize', 'annotatePosition'] as const).find((key) => options[key] !== undefined);
    if (stray) throw new UsageError(messages.needsFlag(name(stray), `${name('annotate')} <text>`));
    return undefined;
  }
  return { text: values.annotate, position: values.annotatePosition, size: values.annotateSize, colour: values.annotateColour };
}

/**
 * The shard this run takes, if any. With `auto`, the count comes from every place that gives one (`shardCount`, the
 * engine's own variable, UPSCALE_SHARD_COUNT), which must agree: a worker counting differently from the others would
 * skip or repeat inputs without a word.
 */
function resolveShard(given: Shard | 'auto' | undefined, count: number | undefined, env: NonNullable<UpscaleOptions['env']>, name: (key: OptionKey) => string): Shard | undefined {
  if (given !== 'auto') {
    if (count !== undefined) throw new UsageError(messages.needsFlag(name('shardCount'), `${name('shard')} auto`));
    return given;
  }
  const auto = `${name('shard')} auto`;
  const set = (variable: string | undefined) => (variable === undefined || (env[variable] ?? '').trim() === '' ? undefined : env[variable]!.trim());
  const engine = SHARD_ENVIRONMENTS.find((e) => set(e.index) !== undefined);
  if (!engine) throw new UsageError(messages.noShardEnvironment(name('shard'), name('shardCount'), SHARD_COUNT_VARIABLE, SHARD_ENVIRONMENTS));
  const counts: { source: string; value: number }[] = count === undefined ? [] : [{ source: `${name('shardCount')} ${count}`, value: count }];
  for (const variable of [engine.count, SHARD_COUNT_VARIABLE]) {
    const value = set(variable);
    if (value !== undefined) counts.push({ source: `${variable}=${value}`, value: shardCount.parse(value, variable!) });
  }
  const [first, ...rest] = counts;
  if (!first) throw new UsageError(messages.noShardCount(auto, engine.index, name('shardCount'), SHARD_COUNT_VARIABLE));
  const other = rest.find((c) => c.value !== first.value);
  if (other) throw new UsageError(messages.shardCountsDisagree(auto, first.source, other.source));
  const index = integer(0, first.value - 1).parse(set(engine.index)!, `${engine.index} (counted from 0, with ${first.source})`);
  return { index: index + 1, count: first.value };
}

const NETWORK_CONCURRENCY = 2;

/**
 * A network uses every core for one image at a time, so two images in flight let one decode and encode while
 * the other runs; the baselines are single-threaded JavaScript, so one image per core.
 */
function defaultConcurrency(model: Model): number {
  return model.kind === 'network' ? NETWORK_CONCURRENCY : Math.max(1, availableParallelism());
}
