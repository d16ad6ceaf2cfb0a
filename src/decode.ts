/** Reads an image with sharp into the pipeline's Image, orientation applied, with the metadata to carry over. */
import { stat } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { errorLine, InputError } from './errors.js';
import { errnoText, messages } from './messages.js';
import type { Image, ImageMetadata } from './image.js';
import { pixelsFrom } from './sharp-raw.js';

export interface Header {
  /** Size after EXIF orientation is applied. */
  width: number;
  height: number;
  /** As decode will deliver them, near enough for memory planning. */
  channels: number;
  depth: Image['depth'];
}

export interface Decoded {
  image: Image;
  metadata: ImageMetadata;
}

/** sharp's message without its "Input file" prefix: the file is named by our own message. */
function sharpError(error: unknown): string {
  return errorLine(error).replace(/^Input (file|buffer) /, '');
}

/** The depth decode delivers: 16 bits for any source with more than 8 bits per sample. */
function depthOf(meta: Metadata): Image['depth'] {
  return meta.depth === 'ushort' || meta.depth === 'short' || (meta.bitsPerSample ?? 8) > 8 ? 16 : 8;
}

/** Reads only the header: cheap enough to check sizes and limits before any pixels are decoded. */
export async function readHeader(path: string): Promise<Header> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw new InputError(messages.unreadable(path, errnoText((error as NodeJS.ErrnoException).code)));
  }
  if (size === 0) throw new InputError(messages.emptyFile(path));
  let metadata: Metadata;
  try {
    metadata = await sharp(path, { limitInputPixels: false }).metadata();
  } catch (error) {
    const detail = sharpError(error);
    if (/unsupported image format/i.test(detail)) throw new InputError(messages.unsupportedInput(path, 'unknown format'));
    if (/EACCES|permission/i.test(detail)) throw new InputError(messages.unreadable(path, 'permission denied'));
    throw new InputError(messages.corruptInput(path, detail));
  }
  const { width, height } = metadata.autoOrient ?? metadata;
  if (!width || !height) throw new InputError(messages.corruptInput(path, 'no image size in header'));
  return { width, height, channels: Math.min(metadata.channels ?? 3, 4), depth: depthOf(metadata) };
}

/**
 * Decodes to 8- or 16-bit samples in the file's own colour space (no ICC conversion: the profile is re-attached
 * on output), one channel for grey, with alpha when present. CMYK is converted to sRGB, as no output keeps it.
 */
export async function decode(path: string, maxPixels: number): Promise<Decoded> {
  const input = sharp(path, { limitInputPixels: maxPixels, failOn: 'error', animated: false });
  let meta: Metadata;
  try {
    meta = await input.metadata();
  } catch (error) {
    throw new InputError(messages.corruptInput(path, sharpError(error)));
  }
  const cmyk = meta.space === 'cmyk';
  const grey = meta.channels !== undefined && meta.channels <= 2 && !meta.isPalette;
  const depth = depthOf(meta);
  const deep = depth === 16;
  const pipeline = input.autoOrient();
  if (!cmyk) pipeline.keepIccProfile();
  pipeline.toColourspace(grey ? (deep ? 'grey16' : 'b-w') : deep ? 'rgb16' : 'srgb');
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await pipeline.raw({ depth: deep ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new InputError(messages.corruptInput(path, sharpError(error)));
  }
  const { data, info } = decoded;
  return {
    image: { data: pixelsFrom(data, depth), width: info.width, height: info.height, channels: info.channels as Image['channels'], depth },
    metadata: {
      icc: cmyk ? undefined : meta.icc,
      exif: meta.exif,
      xmp: meta.xmp,
      density: meta.density,
    },
  };
}
