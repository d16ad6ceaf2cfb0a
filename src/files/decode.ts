/** Reads an image with sharp into the pipeline's Image, orientation applied, with the metadata to carry over. */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink, stat } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { errorLine, InputError, inputError } from '../core/errors.js';
import { isAnimatedPng, READABLE, sharpAgrees, sniff, SNIFF_BYTES, type FormatSpec, type ReadableFormat, type VideoDemuxer } from '../core/formats.js';
import { errnoText } from '../core/messages.js';
import type { Image, ImageMetadata } from '../core/image.js';
import { imageFrom } from '../pixels/sharp-raw.js';

/** An animated image's timing, carried to the output. */
export interface Animation {
  /** Each frame's display time in milliseconds. */
  delay: number[];
  /** How many times it plays; 0 = for ever. */
  loop: number;
}

export interface Header {
  /** Size after EXIF orientation is applied; of one frame for an animated image. */
  width: number;
  height: number;
  /** As decode will deliver them, near enough for memory planning. */
  channels: number;
  depth: Image['depth'];
  /** Decided by the file's content, never by its name. */
  format: ReadableFormat;
  /** Frames of an animated GIF or WebP; 1 for a still. */
  frames: number;
  animation?: Animation;
}

/** What a file is by its content: an image format sharp reads, or a video family ffmpeg reads. */
export type Sniffed = { kind: 'image'; format: ReadableFormat } | { kind: 'video'; demuxer: VideoDemuxer };

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

function kindOf(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isDirectory()) return 'a folder';
  return 'not a file';
}

/**
 * Checks that `path` is a readable regular file and returns its format from its leading bytes. A FIFO or a device
 * is refused before it is opened (reading one could wait forever or never end).
 */
export async function sniffFile(path: string): Promise<Sniffed> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && (await lstat(path).catch(() => undefined))?.isSymbolicLink()) {
      throw inputError('brokenLink', path, await readlink(path));
    }
    throw inputError('unreadable', path, errnoText(code));
  }
  if (!info.isFile()) throw inputError('notRegularFile', path, kindOf(info));
  if (info.size === 0) throw inputError('emptyFile', path);
  try {
    // Non-blocking, and checked again once open: the path may have been replaced by a FIFO since the stat.
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const opened = await handle.stat();
      if (!opened.isFile()) throw inputError('notRegularFile', path, kindOf(opened));
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(SNIFF_BYTES), 0, SNIFF_BYTES, 0);
      const sniffed = sniffBytes(path, buffer.subarray(0, bytesRead));
      const read = async (offset: number, length: number) => {
        const { buffer: chunk, bytesRead: got } = await handle.read(Buffer.alloc(length), 0, length, offset);
        return chunk.subarray(0, got);
      };
      if (sniffed.kind === 'image' && sniffed.format === 'png' && (await isAnimatedPng(read))) throw inputError('animatedPng', path);
      return sniffed;
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw inputError('unreadable', path, errnoText((error as NodeJS.ErrnoException).code));
  }
}

/** What bytes already in memory hold, by the same sniffing as a file's. */
export async function sniffBuffer(name: string, bytes: Buffer): Promise<Sniffed> {
  const sniffed = sniffBytes(name, bytes);
  const read = async (offset: number, length: number) => bytes.subarray(offset, offset + length);
  if (sniffed.kind === 'image' && sniffed.format === 'png' && (await isAnimatedPng(read))) throw inputError('animatedPng', name);
  return sniffed;
}

/** The format of bytes, from the leading ones alone. */
function sniffBytes(name: string, bytes: Buffer): Sniffed {
  if (bytes.length === 0) throw inputError('emptyFile', name);
  const { format, video, detected } = sniff(bytes.subarray(0, SNIFF_BYTES));
  if (video) return { kind: 'video', demuxer: video };
  if (!format) throw inputError('unsupportedInput', name, detected === 'unknown format' ? detected : `its content is ${detected}`);
  return { kind: 'image', format };
}

/** The image format sniffed; a video is an error where only images are read (stdin, a buffer, `compare`). */
function imageFormat(name: string, sniffed: Sniffed): ReadableFormat {
  if (sniffed.kind === 'video') throw inputError('videoNotHere', name);
  return sniffed.format;
}

/**
 * sharp's header, checked against the format the content was sniffed as. Several pages are frames only in the
 * formats that animate; a multi-page TIFF or HEIF collection is refused rather than cut to its first page.
 */
async function metadataOf(path: string, bytes: Buffer | undefined, format: ReadableFormat, limitInputPixels: number | false): Promise<Metadata> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes ?? path, { limitInputPixels, failOn: 'error', animated: false }).metadata();
  } catch (error) {
    throw inputError('corruptInput', path, sharpError(error));
  }
  if (!sharpAgrees(format, meta.format, meta.compression)) {
    throw inputError('unsupportedInput', path, `its content is ${meta.format ?? 'unknown'}, not ${format}`);
  }
  if ((meta.pages ?? 1) > 1 && !(READABLE[format] as FormatSpec).animated) throw inputError('manyPages', path, meta.pages!);
  return meta;
}

/**
 * Reads only the header: cheap enough to check sizes and limits before any pixels are decoded. `path` names the
 * input in messages, and is read unless its `bytes` are given (stdin, a library caller's buffer).
 */
export async function readHeader(path: string, bytes?: Buffer): Promise<Header> {
  const format = imageFormat(path, bytes ? await sniffBuffer(path, bytes) : await sniffFile(path));
  const metadata = await metadataOf(path, bytes, format, false);
  const { width, height } = metadata.autoOrient ?? metadata;
  if (!width || !height) throw inputError('corruptInput', path, 'no image size in header');
  const frames = metadata.pages ?? 1;
  const header: Header = { width, height, channels: Math.min(metadata.channels ?? 3, 4), depth: depthOf(metadata), format, frames };
  if (frames > 1) header.animation = { delay: metadata.delay ?? Array<number>(frames).fill(100), loop: metadata.loop ?? 0 };
  return header;
}

/** Which frames `decode` reads: a still's one image, frame N of an animation, or every frame. */
export type Frames = { page: number } | 'all';

/**
 * Decodes to 8- or 16-bit samples in the file's own colour space (no ICC conversion: the profile is re-attached
 * on output), one channel for grey, with alpha when present. CMYK is converted to sRGB, as no output keeps it.
 * `format` is the header's: the content is checked against it again. Every frame of an animation comes as one
 * image, the frames stacked top to bottom (`maxPixels` then limits them all together).
 */
export async function decode(path: string, format: ReadableFormat, maxPixels: number, bytes?: Buffer, frames: Frames = { page: 0 }): Promise<Decoded> {
  const meta = await metadataOf(path, bytes, format, maxPixels);
  const cmyk = meta.space === 'cmyk';
  const grey = meta.channels !== undefined && meta.channels <= 2 && !meta.isPalette;
  const depth = depthOf(meta);
  const pages = frames === 'all' ? { animated: true } : { page: frames.page };
  const run = () => {
    const pipeline = sharp(bytes ?? path, { limitInputPixels: maxPixels, failOn: 'error', ...pages });
    // Rotating the stacked frames would turn the strip, not each frame; animations carry no orientation in practice.
    if (frames !== 'all') pipeline.autoOrient();
    if (!cmyk) pipeline.keepIccProfile();
    // imageFrom reads in the depth and colour model asked for (grey with its alpha kept).
    return imageFrom(pipeline.toColourspace(grey ? 'b-w' : 'srgb'), { channels: grey ? 1 : 3, depth });
  };
  let image: Image;
  try {
    // libvips keeps one error buffer for the process: another image failing at the same moment can clear it,
    // leaving "Unknown error". A second try recovers the real cause.
    image = await run().catch((error: unknown) => (/^unknown error$/i.test(sharpError(error)) ? run() : Promise.reject(error)));
  } catch (error) {
    throw inputError('corruptInput', path, sharpError(error));
  }
  return {
    image,
    metadata: {
      icc: cmyk ? undefined : meta.icc,
      exif: meta.exif,
      xmp: meta.xmp,
      density: meta.density,
    },
  };
}
