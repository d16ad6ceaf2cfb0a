/**
 * Alpha bleeding, before upscaling: the colour stored under fully transparent pixels (often white, or whatever the
 * editor left) is invisible in the input, but a network or resampler enlarges and sharpens it into the visible edge
 * as a rim. Each fully transparent pixel takes the colour of its nearest visible neighbours instead, ring by ring
 * outwards (as game-asset tools do), so the edge's colour comes from the subject.
 */
import { allocateImage, type Image } from '../core/image.js';

/** A copy of an image with alpha in which every fully transparent pixel's colour is bled in from the visible ones. */
export function bleedTransparent(image: Image): Image {
  const { width, height, channels, data } = image;
  const colours = channels - 1;
  const out = allocateImage(width, height, channels, image.depth);
  out.data.set(data);
  // Ring of each pixel: 0 for visible ones, 1 for transparent ones touching them, and so on; -1 not reached yet.
  const ring = new Int32Array(width * height).fill(-1);
  let frontier = new Int32Array(width * height);
  let frontierLength = 0;
  for (let p = 0; p < ring.length; p++) {
    if (data[p * channels + colours]! > 0) {
      ring[p] = 0;
      frontier[frontierLength++] = p;
    }
  }
  let next = new Int32Array(width * height);
  const sum = new Float64Array(colours);
  for (let r = 1; frontierLength > 0; r++) {
    let nextLength = 0;
    for (let i = 0; i < frontierLength; i++) {
      const p = frontier[i]!;
      const x = p % width;
      const y = (p - x) / width;
      for (let ny = Math.max(0, y - 1); ny <= Math.min(height - 1, y + 1); ny++) {
        for (let nx = Math.max(0, x - 1); nx <= Math.min(width - 1, x + 1); nx++) {
          const q = ny * width + nx;
          if (ring[q] === -1) {
            ring[q] = r;
            next[nextLength++] = q;
          }
        }
      }
    }
    for (let i = 0; i < nextLength; i++) {
      const p = next[i]!;
      const x = p % width;
      const y = (p - x) / width;
      // The mean of the neighbours filled in earlier rings, never this one: the result does not depend on order.
      sum.fill(0);
      let count = 0;
      for (let ny = Math.max(0, y - 1); ny <= Math.min(height - 1, y + 1); ny++) {
        for (let nx = Math.max(0, x - 1); nx <= Math.min(width - 1, x + 1); nx++) {
          const q = ny * width + nx;
          if (ring[q]! >= 0 && ring[q]! < r) {
            for (let c = 0; c < colours; c++) sum[c]! += out.data[q * channels + c]!;
            count++;
          }
        }
      }
      for (let c = 0; c < colours; c++) out.data[p * channels + c] = Math.round(sum[c]! / count);
    }
    [frontier, next] = [next, frontier];
    frontierLength = nextLength;
  }
  // A wholly transparent image has no visible colour to give: it is left as it was.
  return out;
}
