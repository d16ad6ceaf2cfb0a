/**
 * The classic baselines, pixel-centre aligned (x_in = (x_out + 0.5) · in/out − 0.5) with clamped edges, as in
 * PIL and Matlab's imresize. sharp is not used here: its enlarging kernels sample a quarter pixel off that grid.
 */
import { allocateImage, maxSample, type Image } from '../core/image.js';

/** The baselines, and lanczos (a = 3) for --strength's blend, which must sit on the network's pixel grid. */
export type Interpolation = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos';

interface Taps {
  count: number;
  index: Int32Array;
  weight: Float32Array;
}

/** Keys' cubic convolution kernel; a = -0.5 is Catmull-Rom, the usual bicubic. */
function keys(x: number, a: number): number {
  const t = Math.abs(x);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

function lanczos3(x: number): number {
  if (x === 0) return 1;
  if (Math.abs(x) >= 3) return 0;
  const px = Math.PI * x;
  return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
}

function kernel(method: Interpolation, distance: number, cubicA: number): number {
  if (method === 'bilinear') return Math.max(0, 1 - Math.abs(distance));
  if (method === 'lanczos') return lanczos3(distance);
  return keys(distance, cubicA);
}

/** The kernel is not widened when reducing, as in ncnn's Interp, whose resize the anime models' runs copy. */
function taps(inLength: number, outLength: number, method: Interpolation, cubicA: number): Taps {
  const ratio = inLength / outLength;
  const count = { nearest: 1, bilinear: 2, bicubic: 4, lanczos: 6 }[method];
  const index = new Int32Array(outLength * count);
  const weight = new Float32Array(outLength * count);
  const clampIndex = (i: number) => Math.min(Math.max(i, 0), inLength - 1);
  for (let o = 0; o < outLength; o++) {
    const at = o * count;
    if (method === 'nearest') {
      index[at] = clampIndex(Math.floor((o + 0.5) * ratio));
      weight[at] = 1;
      continue;
    }
    const centre = (o + 0.5) * ratio - 0.5;
    const first = Math.floor(centre) - (count / 2 - 1);
    let sum = 0;
    for (let k = 0; k < count; k++) {
      const distance = centre - (first + k);
      const w = kernel(method, distance, cubicA);
      index[at + k] = clampIndex(first + k);
      weight[at + k] = w;
      sum += w;
    }
    for (let k = 0; k < count; k++) weight[at + k]! /= sum;
  }
  return { count, index, weight };
}

/**
 * Resamples to exactly width × height; separable, horizontal pass first. `cubicA` is the bicubic kernel's a:
 * -0.5 for the baseline, -0.75 where a model's own resize (ncnn's Interp) is reproduced.
 */
export function resample(image: Image, width: number, height: number, method: Interpolation, cubicA = -0.5): Image {
  const { channels } = image;
  const horizontal = taps(image.width, width, method, cubicA);
  const vertical = taps(image.height, height, method, cubicA);
  const peak = maxSample(image.depth);
  const wide = new Float32Array(width * image.height * channels);
  for (let y = 0; y < image.height; y++) {
    const rowIn = y * image.width;
    const rowOut = y * width;
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < horizontal.count; k++) {
          const t = x * horizontal.count + k;
          sum += horizontal.weight[t]! * image.data[(rowIn + horizontal.index[t]!) * channels + c]!;
        }
        wide[(rowOut + x) * channels + c] = sum;
      }
    }
  }
  const output = allocateImage(width, height, channels, image.depth);
  const rowLength = width * channels;
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < rowLength; i++) {
      let sum = 0;
      for (let k = 0; k < vertical.count; k++) {
        const t = y * vertical.count + k;
        sum += vertical.weight[t]! * wide[vertical.index[t]! * rowLength + i]!;
      }
      output.data[y * rowLength + i] = Math.min(peak, Math.max(0, Math.round(sum)));
    }
  }
  return output;
}
