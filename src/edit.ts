/** Edits applied to the upscaled image, each as its own sharp step so the documented order is the real one. */
import { InputError } from './errors.js';
import { hasAlpha, type Image } from './image.js';
import { messages } from './messages.js';
import { imageFrom, sharpFrom } from './sharp-raw.js';

export interface Crop {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Fit inside width × height keeping the aspect ratio; a missing side follows from the other. */
export interface Resize {
  width?: number;
  height?: number;
}

export interface Edits {
  crop?: Crop;
  rotate?: number;
  flip: boolean;
  flop: boolean;
  resize?: Resize;
}

export function hasEdits(edits: Edits): boolean {
  return edits.crop !== undefined || edits.rotate !== undefined || edits.flip || edits.flop || edits.resize !== undefined;
}

/** Exact-size resampling with lanczos3: brings a model's output to the requested scale. */
export async function resizeTo(image: Image, width: number, height: number): Promise<Image> {
  if (image.width === width && image.height === height) return image;
  return imageFrom(sharpFrom(image).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }), image.depth);
}

export function describeCrop(crop: Crop): string {
  return `${crop.left},${crop.top},${crop.width},${crop.height}`;
}

/** Applies crop, rotate, flip, flop, resize, in that order. `input` names the file in errors. */
export async function applyEdits(image: Image, edits: Edits, input: string): Promise<Image> {
  let current = image;
  const step = (build: (pipeline: ReturnType<typeof sharpFrom>) => ReturnType<typeof sharpFrom>) =>
    imageFrom(build(sharpFrom(current)), current.depth);
  if (edits.crop) {
    const { crop } = edits;
    if (crop.left + crop.width > current.width || crop.top + crop.height > current.height) {
      throw new InputError(messages.cropOutside(input, describeCrop(crop), current.width, current.height));
    }
    current = await step((p) => p.extract(crop));
  }
  if (edits.rotate !== undefined && edits.rotate % 360 !== 0) {
    const background = hasAlpha(current) ? { r: 0, g: 0, b: 0, alpha: 0 } : { r: 0, g: 0, b: 0, alpha: 1 };
    current = await step((p) => p.rotate(edits.rotate, { background }));
  }
  if (edits.flip) current = await step((p) => p.flip());
  if (edits.flop) current = await step((p) => p.flop());
  if (edits.resize) {
    const { width, height } = edits.resize;
    current = await step((p) => p.resize(width ?? null, height ?? null, { fit: 'inside', kernel: 'lanczos3' }));
  }
  return current;
}

/** The size the edits produce from a width × height image, computed before any pixel work. */
export function finalSize(width: number, height: number, edits: Edits, input: string): { width: number; height: number } {
  let w = width;
  let h = height;
  if (edits.crop) {
    const { crop } = edits;
    if (crop.left + crop.width > w || crop.top + crop.height > h) throw new InputError(messages.cropOutside(input, describeCrop(crop), w, h));
    w = crop.width;
    h = crop.height;
  }
  if (edits.rotate !== undefined && edits.rotate % 360 !== 0) {
    const radians = (edits.rotate * Math.PI) / 180;
    const cos = Math.abs(Math.cos(radians));
    const sin = Math.abs(Math.sin(radians));
    [w, h] = [Math.round(w * cos + h * sin), Math.round(w * sin + h * cos)];
  }
  if (edits.resize) {
    const ratio = Math.min(edits.resize.width ? edits.resize.width / w : Infinity, edits.resize.height ? edits.resize.height / h : Infinity);
    [w, h] = [Math.max(1, Math.round(w * ratio)), Math.max(1, Math.round(h * ratio))];
  }
  return { width: w, height: h };
}
