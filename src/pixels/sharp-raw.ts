/** Moving the pipeline's Image in and out of sharp without losing depth or channel count. */
import sharp, { type Sharp } from 'sharp';
import { toEightBit, type Image } from '../core/image.js';

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

/**
 * A sharp pipeline over raw pixels; sharp itself limits no input size here, the caller has checked it. The samples
 * go in as their typed array, which is how sharp learns their depth: as bytes, 16-bit samples would be read as
 * twice as many 8-bit ones. `frameHeight` makes the image an animation's frames, stacked top to bottom.
 */
export function sharpFrom(image: Image, frameHeight?: number): Sharp {
  return sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels, ...(frameHeight !== undefined && { pageHeight: frameHeight }) },
    limitInputPixels: false,
  }).toColourspace(colourspaceOf(image));
}

function pixelsFrom(data: Buffer, depth: Image['depth']): Image['data'] {
  if (depth === 8) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // A Uint16Array view needs 2-byte alignment; copy in the rare case sharp's buffer lacks it.
  const aligned = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
  return new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
}

/**
 * Runs a pipeline made by `sharpFrom(source)` to raw pixels of the source's depth and colour model. sharp's raw
 * 8-bit grey output drops an alpha channel, so 8-bit grey is read as 16-bit grey (each sample exactly v × 257) and
 * narrowed back.
 */
export async function imageFrom(pipeline: Sharp, source: Pick<Image, 'channels' | 'depth'>): Promise<Image> {
  const wide = source.depth === 16 || source.channels <= 2;
  if (wide) pipeline.toColourspace(source.channels <= 2 ? 'grey16' : 'rgb16');
  const { data, info } = await pipeline.raw({ depth: wide ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  const image: Image = { data: pixelsFrom(data, wide ? 16 : 8), width: info.width, height: info.height, channels: info.channels as Image['channels'], depth: wide ? 16 : 8 };
  return source.depth === 8 ? toEightBit(image) : image;
}
