/**
 * Edits applied to the upscaled image, in a fixed, documented order: geometry (crop, rotate, flip, flop, resize),
 * then colour (brightness, saturation, hue, contrast, gamma), then filters (grayscale, normalize, denoise, blur,
 * sharpen), then the watermark and the annotation. Each sharp operation is its own step, so the order is the real one.
 */
import sharp, { type Sharp } from 'sharp';
import { errorLine, inputError, UsageError } from '../core/errors.js';
import { allocateImage, hasAlpha, maxSample, type Image } from '../core/image.js';
import { messages } from '../core/messages.js';
import { escapeMarkup } from '../core/markup.js';
import { imageFrom, sharpFrom } from './sharp-raw.js';

export interface Crop {
  left: number;
  top: number;
  width: number;
  height: number;
}

export const FITS = ['inside', 'cover', 'contain', 'fill'] as const;
export type Fit = (typeof FITS)[number];

/** Target size; a missing side follows from the other with the aspect kept. */
export interface Resize {
  width?: number;
  height?: number;
  /** inside (default): fit within, aspect kept; cover: fill and crop; contain: fit and pad; fill: exact size, stretched. */
  fit?: Fit;
}

export const POSITIONS = ['north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest', 'center'] as const;
export type Position = (typeof POSITIONS)[number];

export interface Colour {
  /** Multipliers: 1 leaves the image unchanged. */
  brightness?: number;
  saturation?: number;
  contrast?: number;
  /** Hue rotation in degrees. */
  hue?: number;
  /** Output = input^(1/gamma): above 1 brightens the mid-tones, below 1 darkens them. */
  gamma?: number;
}

export interface Filters {
  grayscale: boolean;
  normalize: boolean;
  /** Median filter radius: the window is (2 × denoise + 1) pixels square. */
  denoise?: number;
  blur?: number;
  /** Gaussian sigma of the unsharp mask; true for sharp's fast default. */
  sharpen?: number | true;
}

export interface Watermark {
  path: string;
  position: Position;
  opacity: number;
  /** Watermark width as a fraction of the output width. */
  scale: number;
  /** Pixels between the watermark and the edges it is placed against; default 1/40 of the output's shorter side. */
  margin?: number;
}

export interface Annotation {
  text: string;
  position: Position;
  /** Text height in output pixels; default 1/20 of the output height. */
  size?: number;
  colour: string;
}

export interface Edits {
  crop?: Crop;
  rotate?: number;
  flip: boolean;
  flop: boolean;
  resize?: Resize;
  colour: Colour;
  filters: Filters;
  watermark?: Watermark;
  annotate?: Annotation;
}

/** The edits in the order they are applied, each as its flag would say it (`crop 0,0,96,96`, `sharpen`): for the report page. */
export function describeEdits(edits: Edits): string[] {
  const said: string[] = [];
  const { crop, resize, colour, filters } = edits;
  if (crop) said.push(`crop ${crop.left},${crop.top},${crop.width},${crop.height}`);
  if (edits.rotate !== undefined && edits.rotate % 360 !== 0) said.push(`rotate ${edits.rotate}`);
  if (edits.flip) said.push('flip');
  if (edits.flop) said.push('flop');
  if (resize) said.push(`resize ${resize.width ?? ''}x${resize.height ?? ''}${resize.fit ? ` ${resize.fit}` : ''}`);
  for (const name of ['brightness', 'saturation', 'hue', 'contrast', 'gamma'] as const) if (colour[name] !== undefined) said.push(`${name} ${colour[name]}`);
  if (filters.grayscale) said.push('grayscale');
  if (filters.normalize) said.push('normalize');
  if (filters.denoise !== undefined) said.push(`denoise ${filters.denoise}`);
  if (filters.blur !== undefined) said.push(`blur ${filters.blur}`);
  if (filters.sharpen !== undefined) said.push(filters.sharpen === true ? 'sharpen' : `sharpen ${filters.sharpen}`);
  if (edits.watermark) said.push(`watermark ${edits.watermark.path}`);
  if (edits.annotate) said.push(`annotate "${edits.annotate.text}"`);
  return said;
}

/** Exact-size resampling with lanczos3: brings a model's output to the requested scale. */
export async function resizeTo(image: Image, width: number, height: number): Promise<Image> {
  if (image.width === width && image.height === height) return image;
  return imageFrom(sharpFrom(image).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }), image);
}

/** Applies every edit in the documented order. */
export async function applyEdits(image: Image, edits: Edits): Promise<Image> {
  let current = image;
  const step = async (build: (pipeline: Sharp) => Sharp) => {
    current = await imageFrom(build(sharpFrom(current)), current);
  };
  const transparent = () => (hasAlpha(current) ? { r: 0, g: 0, b: 0, alpha: 0 } : { r: 0, g: 0, b: 0, alpha: 1 });
  // finalSize, run before any pixel work, has already checked that the crop lies inside.
  if (edits.crop) await step((p) => p.extract(edits.crop!));
  if (edits.rotate !== undefined && edits.rotate % 360 !== 0) await step((p) => p.rotate(edits.rotate, { background: transparent() }));
  if (edits.flip) await step((p) => p.flip());
  if (edits.flop) await step((p) => p.flop());
  if (edits.resize) {
    const { width, height, fit = 'inside' } = edits.resize;
    const size = fit === 'fill' ? fillSize(current, edits.resize) : { width, height };
    await step((p) => p.resize(size.width ?? null, size.height ?? null, { fit, kernel: 'lanczos3', background: transparent() }));
  }
  const { brightness, saturation, hue, contrast, gamma } = edits.colour;
  if (brightness !== undefined || saturation !== undefined || hue !== undefined) {
    // sharp's modulate rejects keys that are present but undefined.
    const changes = Object.fromEntries(Object.entries({ brightness, saturation, hue }).filter(([, v]) => v !== undefined));
    await step((p) => p.modulate(changes));
  }
  if (contrast !== undefined) current = mapColour(current, (v, peak) => (v - peak / 2) * contrast + peak / 2);
  if (gamma !== undefined) current = mapColour(current, (v, peak) => peak * (v / peak) ** (1 / gamma));
  const { filters } = edits;
  if (filters.grayscale) current = grayscale(current);
  if (filters.normalize) await step((p) => p.normalise());
  if (filters.denoise !== undefined) await step((p) => p.median(2 * filters.denoise! + 1));
  if (filters.blur !== undefined) await step((p) => p.blur(filters.blur));
  if (filters.sharpen !== undefined) await step((p) => (filters.sharpen === true ? p.sharpen() : p.sharpen({ sigma: filters.sharpen as number })));
  const opaque = !hasAlpha(current);
  if (edits.watermark) {
    const { watermark } = edits;
    const margin = watermark.margin ?? defaultMargin(current);
    const overlay = await watermarkOverlay(watermark, current, margin);
    await step((p) => p.composite([{ ...overlay, ...placeOverlay(watermark.position, current, overlay.raw, margin) }]));
  }
  if (edits.annotate) {
    const overlay = annotationOverlay(edits.annotate, current);
    await step((p) => p.composite([{ input: overlay, gravity: edits.annotate!.position }]));
  }
  // Compositing adds an alpha channel; an opaque image stays opaque.
  if (opaque && hasAlpha(current)) await step((p) => p.removeAlpha());
  return current;
}

/** `fill` with one side given keeps the aspect for the other: only an explicit W×H stretches. */
function fillSize(image: Pick<Image, 'width' | 'height'>, resize: Resize): { width: number; height: number } {
  const width = resize.width ?? Math.max(1, Math.round((image.width * resize.height!) / image.height));
  const height = resize.height ?? Math.max(1, Math.round((image.height * resize.width!) / image.width));
  return { width, height };
}

/** Applies a per-sample curve to the colour channels (alpha untouched), clamped and rounded. */
function mapColour(image: Image, curve: (value: number, peak: number) => number): Image {
  const peak = maxSample(image.depth);
  const table = new Float64Array(peak + 1);
  for (let v = 0; v <= peak; v++) table[v] = Math.min(peak, Math.max(0, Math.round(curve(v, peak))));
  const out = allocateImage(image.width, image.height, image.channels, image.depth);
  const colourChannels = hasAlpha(image) ? image.channels - 1 : image.channels;
  for (let i = 0; i < image.data.length; i++) {
    out.data[i] = i % image.channels < colourChannels ? table[image.data[i]!]! : image.data[i]!;
  }
  return out;
}

/** Rec. 709 luma into a single channel (alpha kept), so a grey result is written as a grey file. */
function grayscale(image: Image): Image {
  if (image.channels <= 2) return image;
  const alpha = image.channels === 4;
  const out = allocateImage(image.width, image.height, alpha ? 2 : 1, image.depth);
  const pixels = image.width * image.height;
  for (let p = 0; p < pixels; p++) {
    const from = p * image.channels;
    const to = p * out.channels;
    out.data[to] = Math.round(0.2126 * image.data[from]! + 0.7152 * image.data[from + 1]! + 0.0722 * image.data[from + 2]!);
    if (alpha) out.data[to + 1] = image.data[from + 3]!;
  }
  return out;
}

/** The watermark scaled to its share of the output width (never larger than the image), with its opacity applied. */
/** The default watermark margin: 1/40 of the output's shorter side. */
const defaultMargin = (base: Pick<Image, 'width' | 'height'>) => Math.round(Math.min(base.width, base.height) / 40);

/**
 * Where an overlay goes on `base` at `position`: `margin` pixels from each edge it is placed against, centred along
 * the others; a margin the overlay leaves no room for shrinks to what is left.
 */
export function placeOverlay(
  position: Position,
  base: { width: number; height: number },
  overlay: { width: number; height: number },
  margin: number,
): { left: number; top: number } {
  const along = (start: boolean, end: boolean, outer: number, inner: number) => {
    const room = Math.max(0, Math.min(margin, Math.floor((outer - inner) / 2)));
    return start ? room : end ? Math.max(0, outer - inner - room) : Math.max(0, Math.round((outer - inner) / 2));
  };
  return {
    left: along(position.endsWith('west'), position.endsWith('east'), base.width, overlay.width),
    top: along(position.startsWith('north'), position.startsWith('south'), base.height, overlay.height),
  };
}

async function watermarkOverlay(watermark: Watermark, base: Image, margin: number): Promise<{ input: Buffer; raw: { width: number; height: number; channels: 4 } }> {
  // Within the margins, so that it never reaches past an edge.
  const [roomWidth, roomHeight] = [Math.max(1, base.width - 2 * margin), Math.max(1, base.height - 2 * margin)];
  const width = Math.max(1, Math.min(roomWidth, Math.round(base.width * watermark.scale)));
  const { data, info } = await sharp(watermark.path)
    .ensureAlpha()
    .resize(width, roomHeight, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  for (let i = 3; i < data.length; i += 4) data[i] = Math.round(data[i]! * watermark.opacity);
  return { input: data, raw: { width: info.width, height: info.height, channels: 4 } };
}

/** Checks up front that a watermark file is an image sharp can read. */
export async function checkWatermark(path: string, option: string): Promise<void> {
  try {
    await sharp(path).metadata();
  } catch (error) {
    throw new UsageError(messages.badWatermark(option, path, errorLine(error)));
  }
}

/** The text as an SVG as wide as the image, rendered by sharp (librsvg), with a margin from the edges. */
function annotationOverlay(annotation: Annotation, base: Image): Buffer {
  const size = annotation.size ?? Math.max(8, Math.round(base.height / 20));
  const margin = Math.round(size / 2);
  const height = Math.min(base.height, size + 2 * margin);
  const anchor = annotation.position.endsWith('east') ? 'end' : annotation.position.endsWith('west') ? 'start' : 'middle';
  const x = anchor === 'start' ? margin : anchor === 'end' ? base.width - margin : base.width / 2;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${base.width}" height="${height}">` +
    `<text x="${x}" y="${margin + size * 0.8}" font-family="sans-serif" font-size="${size}" fill="${escapeMarkup(annotation.colour)}" text-anchor="${anchor}">` +
    `${escapeMarkup(annotation.text)}</text></svg>`;
  return Buffer.from(svg);
}

/** The size the edits produce from a width × height image, computed before any pixel work. */
export function finalSize(width: number, height: number, edits: Edits, input: string): { width: number; height: number } {
  let w = width;
  let h = height;
  if (edits.crop) {
    const { crop } = edits;
    if (crop.left + crop.width > w || crop.top + crop.height > h) throw inputError('cropOutside', input, `${crop.left},${crop.top},${crop.width},${crop.height}`, w, h);
    w = crop.width;
    h = crop.height;
  }
  if (edits.rotate !== undefined && edits.rotate % 360 !== 0) {
    const radians = (edits.rotate * Math.PI) / 180;
    const cos = Math.abs(Math.cos(radians));
    const sin = Math.abs(Math.sin(radians));
    [w, h] = [Math.round(w * cos + h * sin), Math.round(w * sin + h * cos)];
  }
  const resize = edits.resize;
  if (resize) {
    const fit = resize.fit ?? 'inside';
    if (fit === 'fill') return fillSize({ width: w, height: h }, resize);
    if ((fit === 'cover' || fit === 'contain') && resize.width && resize.height) return { width: resize.width, height: resize.height };
    const ratio = Math.min(resize.width ? resize.width / w : Infinity, resize.height ? resize.height / h : Infinity);
    [w, h] = [Math.max(1, Math.round(w * ratio)), Math.max(1, Math.round(h * ratio))];
  }
  return { width: w, height: h };
}
