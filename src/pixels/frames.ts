/**
 * Frame interpolation's arithmetic, without a network: where new frames go in time, how an animation's delays divide,
 * where a scene cuts, and frames to and from the flow network's padded planes.
 */
import { allocateImage, maxSample, type Image } from '../core/image.js';

/** The timesteps of the n − 1 frames made between two neighbours: 1/n, 2/n, … (n − 1)/n. */
export function timesteps(n: number): number[] {
  return Array.from({ length: n - 1 }, (_, k) => (k + 1) / n);
}

/**
 * An animation frame's delay shared among the n frames that replace it: as equal as `granularity` allows (GIF counts
 * in 10 ms), the longer parts first, summing to the delay exactly where it is a multiple of the granularity.
 */
export function splitDelay(delay: number, n: number, granularity: number): number[] {
  const units = Math.round(delay / granularity);
  const base = Math.floor(units / n);
  const longer = units - base * n;
  return Array.from({ length: n }, (_, k) => (base + (k < longer ? 1 : 0)) * granularity);
}

/**
 * The mean absolute difference of two frames' colour samples, in percent of the largest sample (alpha left out):
 * ffmpeg's "mafd" of its scene-change detectors.
 */
export function frameDifference(a: Image, b: Image): number {
  const colours = a.channels === 2 || a.channels === 4 ? a.channels - 1 : a.channels;
  let sum = 0;
  for (let p = 0; p < a.width * a.height; p++) {
    for (let c = 0; c < colours; c++) sum += Math.abs(a.data[p * a.channels + c]! - b.data[p * a.channels + c]!);
  }
  return (100 * sum) / (a.width * a.height * colours * maxSample(a.depth));
}

/** The default scene-cut threshold, in percent: ffmpeg's minterpolate and scdet default of 10. */
export const SCENE_THRESHOLD = 10;

/**
 * Whether the step between two frames is a scene cut, as ffmpeg's minterpolate and scdet decide: the difference
 * (percent, `frameDifference`) both large in itself and a jump from the step before (`previous`, 0 for the first),
 * at or over `threshold`. Steady fast motion differs every step alike, so it does not count as a cut.
 */
export function isSceneCut(difference: number, previous: number, threshold: number): boolean {
  return Math.min(difference, Math.abs(difference - previous)) >= threshold;
}

/** A frame as the flow network takes it: RGB planes in [0, 1], zero below and right of the frame up to `width × height`. */
export interface FramePlanes {
  rgb: Float32Array;
  /** The alpha plane spread to three, when the frame has alpha (it is interpolated by its own run). */
  alpha?: Float32Array;
  width: number;
  height: number;
}

/** The padded size the flow network works at: each side up to a multiple of `align`. */
export function paddedSize(width: number, height: number, align: number): { width: number; height: number } {
  return { width: Math.ceil(width / align) * align, height: Math.ceil(height / align) * align };
}

/** A frame (grey, grey+alpha, RGB or RGBA) to padded planes (zero padding, as rife-ncnn-vulkan and Practical-RIFE pad). */
export function toPlanes(image: Image, align: number): FramePlanes {
  const { width, height } = paddedSize(image.width, image.height, align);
  const area = width * height;
  const hasAlpha = image.channels === 2 || image.channels === 4;
  const colours = hasAlpha ? image.channels - 1 : image.channels;
  const rgb = new Float32Array(3 * area);
  const alpha = hasAlpha ? new Float32Array(3 * area) : undefined;
  const unit = 1 / maxSample(image.depth);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const from = (y * image.width + x) * image.channels;
      const to = y * width + x;
      for (let c = 0; c < 3; c++) rgb[c * area + to] = image.data[from + (colours === 1 ? 0 : c)]! * unit;
      if (alpha) for (let c = 0; c < 3; c++) alpha[c * area + to] = image.data[from + colours]! * unit;
    }
  }
  return { rgb, ...(alpha && { alpha }), width, height };
}

/**
 * The network's padded HWC output(s) back to a frame of `like`'s layout: cropped to its size; a grey frame takes the
 * mean of the three channels, and alpha the mean of its own run's.
 */
export function fromPlanes(colour: Image['data'], alpha: Image['data'] | undefined, paddedWidth: number, like: Image): Image {
  const out = allocateImage(like.width, like.height, like.channels, like.depth);
  const hasAlpha = like.channels === 2 || like.channels === 4;
  const colours = hasAlpha ? like.channels - 1 : like.channels;
  for (let y = 0; y < like.height; y++) {
    for (let x = 0; x < like.width; x++) {
      const from = 3 * (y * paddedWidth + x);
      const to = (y * like.width + x) * like.channels;
      if (colours === 1) out.data[to] = Math.round((colour[from]! + colour[from + 1]! + colour[from + 2]!) / 3);
      else for (let c = 0; c < 3; c++) out.data[to + c] = colour[from + c]!;
      if (hasAlpha) out.data[to + colours] = Math.round((alpha![from]! + alpha![from + 1]! + alpha![from + 2]!) / 3);
    }
  }
  return out;
}
