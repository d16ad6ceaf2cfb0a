/** Moving the pipeline's Image in and out of sharp without losing depth or channel count. */
import sharp, { type Sharp } from 'sharp';
import type { Image } from './image.js';

/**
 * For the command-line process: every image passes through once, so libvips' operation cache would only hold memory
 * (and open files) for nothing. Not done on import, so a program using the library keeps its own sharp settings.
 */
export function disableSharpCache(): void {
  sharp.cache(false);
}

export function colourspaceOf(image: Pick<Image, 'channels' | 'depth'>): 'b-w' | 'grey16' | 'srgb' | 'rgb16' {
  const grey = image.channels <= 2;
  if (image.depth === 16) return grey ? 'grey16' : 'rgb16';
  return grey ? 'b-w' : 'srgb';
}

export function bytesOf(image: Image): Buffer {
  return Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
}

/** A sharp pipeline over raw pixels; sharp itself limits no input size here, the caller has checked it. */
export function sharpFrom(image: Image): Sharp {
  return sharp(bytesOf(image), {
    raw: { width: image.width, height: image.height, channels: image.channels },
    limitInputPixels: false,
  }).toColourspace(colourspaceOf(image));
}

export function pixelsFrom(data: Buffer, depth: Image['depth']): Image['data'] {
  if (depth === 8) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // A Uint16Array view needs 2-byte alignment; copy in the rare case sharp's buffer lacks it.
  const aligned = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
  return new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
}

/** Runs a pipeline to raw pixels of the given depth. */
export async function imageFrom(pipeline: Sharp, depth: Image['depth']): Promise<Image> {
  const { data, info } = await pipeline.raw({ depth: depth === 16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data: pixelsFrom(data, depth), width: info.width, height: info.height, channels: info.channels as Image['channels'], depth };
}
