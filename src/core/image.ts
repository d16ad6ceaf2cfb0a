/** Interleaved (HWC) pixels, 8 or 16 bits per sample; the only image type passed between stages. */
export interface Image {
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  depth: 8 | 16;
}

/** Metadata carried from input to output (unless --strip-metadata). */
export interface ImageMetadata {
  icc?: Buffer;
  exif?: Buffer;
  xmp?: Buffer;
  /** Pixels per inch, if the input declared it. */
  density?: number;
}

export function maxSample(depth: Image['depth']): number {
  return depth === 16 ? 65535 : 255;
}

export function allocateImage(width: number, height: number, channels: Image['channels'], depth: Image['depth']): Image {
  const length = width * height * channels;
  return { data: depth === 16 ? new Uint16Array(length) : new Uint8Array(length), width, height, channels, depth };
}

export function hasAlpha(image: { channels: number }): boolean {
  return image.channels === 2 || image.channels === 4;
}

/** Splits colour and alpha; the alpha plane is returned as a one-channel image. */
export function splitAlpha(image: Image): { colour: Image; alpha: Image } {
  const colourChannels = (image.channels - 1) as 1 | 3;
  const colour = allocateImage(image.width, image.height, colourChannels, image.depth);
  const alpha = allocateImage(image.width, image.height, 1, image.depth);
  const pixels = image.width * image.height;
  for (let p = 0; p < pixels; p++) {
    const from = p * image.channels;
    const to = p * colourChannels;
    for (let c = 0; c < colourChannels; c++) colour.data[to + c] = image.data[from + c]!;
    alpha.data[p] = image.data[from + colourChannels]!;
  }
  return { colour, alpha };
}

export function joinAlpha(colour: Image, alpha: Image): Image {
  const channels = (colour.channels + 1) as 2 | 4;
  const joined = allocateImage(colour.width, colour.height, channels, colour.depth);
  const pixels = colour.width * colour.height;
  for (let p = 0; p < pixels; p++) {
    const to = p * channels;
    const from = p * colour.channels;
    for (let c = 0; c < colour.channels; c++) joined.data[to + c] = colour.data[from + c]!;
    joined.data[to + colour.channels] = alpha.data[p]!;
  }
  return joined;
}

/**
 * True when every alpha sample (the last channel: an image with alpha, or an alpha plane) is fully opaque, so the
 * plane can be rebuilt instead of upscaled.
 */
export function isOpaque(image: Image): boolean {
  const opaque = maxSample(image.depth);
  for (let i = image.channels - 1; i < image.data.length; i += image.channels) if (image.data[i] !== opaque) return false;
  return true;
}

/** 16-bit samples to 8-bit, rounded (v / 257); an 8-bit image is returned as it is. */
export function toEightBit(image: Image): Image {
  if (image.depth === 8) return image;
  const eight = allocateImage(image.width, image.height, image.channels, 8);
  for (let i = 0; i < image.data.length; i++) eight.data[i] = Math.round(image.data[i]! / 257);
  return eight;
}

/** The rectangle `left, top, width, height` of an image, which must lie inside it. */
export function extract(image: Image, rect: { left: number; top: number; width: number; height: number }): Image {
  const out = allocateImage(rect.width, rect.height, image.channels, image.depth);
  const rowLength = rect.width * image.channels;
  for (let y = 0; y < rect.height; y++) {
    const from = ((rect.top + y) * image.width + rect.left) * image.channels;
    out.data.set(image.data.subarray(from, from + rowLength), y * rowLength);
  }
  return out;
}

/** The frames of an animation decoded as one image, frames stacked top to bottom: views, not copies. */
export function framesOf(strip: Image, count: number): Image[] {
  const height = strip.height / count;
  const length = strip.width * height * strip.channels;
  return Array.from({ length: count }, (_, k) => ({ ...strip, height, data: strip.data.subarray(k * length, (k + 1) * length) }));
}

/** Frames of one size and layout stacked top to bottom into one image, as the animated encoders take them. */
export function stackFrames(frames: readonly Image[]): Image {
  const [first] = frames;
  const strip = allocateImage(first!.width, first!.height * frames.length, first!.channels, first!.depth);
  frames.forEach((frame, k) => strip.data.set(frame.data, k * frame.data.length));
  return strip;
}

/** The image at a depth: 8-bit samples widened exactly (v × 257), 16-bit ones rounded (see toEightBit). */
export function toDepth(image: Image, depth: Image['depth']): Image {
  if (image.depth === depth) return image;
  if (depth === 8) return toEightBit(image);
  const wide = allocateImage(image.width, image.height, image.channels, 16);
  for (let i = 0; i < image.data.length; i++) wide.data[i] = image.data[i]! * 257;
  return wide;
}

/** weight × a + (1 − weight) × b, rounded; a and b of one size and depth. */
export function blend(a: Image, b: Image, weight: number): Image {
  const out = allocateImage(a.width, a.height, a.channels, a.depth);
  for (let i = 0; i < a.data.length; i++) out.data[i] = Math.round(weight * a.data[i]! + (1 - weight) * b.data[i]!);
  return out;
}

/**
 * One of the 8 flips and rotations (the dihedral group of the square), by bits: 1 mirrors left ↔ right, 2 top ↔
 * bottom, 4 transposes (rows become columns), applied in that order. `orient(image, t, true)` undoes `orient(image, t)`.
 */
export function orient(image: Image, turn: number, undo = false): Image {
  const transpose = (turn & 4) !== 0;
  const { width, height, channels } = image;
  // Output size, and for each output pixel (x, y) the input pixel it takes.
  const [outWidth, outHeight] = transpose ? [height, width] : [width, height];
  const out = allocateImage(outWidth, outHeight, channels, image.depth);
  const mirror = (v: number, length: number, bit: number) => ((turn & bit) !== 0 ? length - 1 - v : v);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      let sx: number;
      let sy: number;
      if (!undo) {
        // Mirror, then transpose: output (x, y) is the mirrored input at (y, x) when transposed.
        [sx, sy] = transpose ? [y, x] : [x, y];
        sx = mirror(sx, width, 1);
        sy = mirror(sy, height, 2);
      } else {
        // Undo: transpose back, then mirror back; this image was the oriented one.
        const [ux, uy] = [mirror(x, outWidth, 1), mirror(y, outHeight, 2)];
        [sx, sy] = transpose ? [uy, ux] : [ux, uy];
      }
      const from = (sy * width + sx) * channels;
      const to = (y * outWidth + x) * channels;
      for (let c = 0; c < channels; c++) out.data[to + c] = image.data[from + c]!;
    }
  }
  return out;
}
