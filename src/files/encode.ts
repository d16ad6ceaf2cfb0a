/**
 * Encodes the final Image with sharp, re-attaching the input's ICC profile, EXIF and XMP unless stripped. An
 * animation comes as its frames stacked top to bottom, with each frame's delay and the loop count.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { getSystemErrorMap } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import { hasAlpha, type Image, type ImageMetadata } from '../core/image.js';
import { bytesOf, colourspaceOf, sharpFrom } from '../pixels/sharp-raw.js';
import { withTemporary } from './leftovers.js';
import { READABLE, type Format } from '../core/formats.js';
import type { Animation } from './decode.js';

export interface EncodeOptions {
  format: Format;
  /** 1-100 for the lossy encoders; undefined keeps each encoder's default. */
  quality?: number;
  /** Undefined when metadata is stripped. */
  metadata?: ImageMetadata;
  /** For an animation (a format that holds one): the height of each frame, their delays and the loop count. */
  animation?: Animation & { frameHeight: number };
}

/** libvips' VipsInterpretation values. */
const INTERPRETATION = { 'b-w': 1, srgb: 22, rgb16: 25, grey16: 26 } as const;

function vipsField(type: string, name: string, value: string): string {
  return `    <field type="${type}" name="${name}">${value}</field>\n`;
}

/**
 * libvips' native .v file: raw pixels plus metadata blobs. Loading one is the only way to hand sharp pixels
 * together with an ICC profile and EXIF to keep *without* it colour-converting them, so the output keeps the
 * input's colours and profile exactly.
 */
function vipsFile(image: Image, metadata: ImageMetadata, frameHeight: number | undefined): Buffer[] {
  const header = Buffer.alloc(64);
  header.set([0xb6, 0xa6, 0xf2, 0x08], 0);
  header.writeInt32LE(image.width, 4);
  header.writeInt32LE(image.height, 8);
  header.writeInt32LE(image.channels, 12);
  header.writeInt32LE(image.depth, 16);
  header.writeInt32LE(image.depth === 16 ? 2 : 0, 20);
  header.writeInt32LE(INTERPRETATION[colourspaceOf(image)], 28);
  const pixelsPerMm = (metadata.density ?? 72) / 25.4;
  header.writeFloatLE(pixelsPerMm, 32);
  header.writeFloatLE(pixelsPerMm, 36);
  let fields = '';
  if (metadata.icc) fields += vipsField('VipsBlob', 'icc-profile-data', metadata.icc.toString('base64'));
  if (metadata.exif) fields += vipsField('VipsBlob', 'exif-data', metadata.exif.toString('base64'));
  if (metadata.xmp) fields += vipsField('VipsBlob', 'xmp-data', metadata.xmp.toString('base64'));
  // Pixels were rotated upright on decode, so the kept EXIF must not rotate them again.
  fields += vipsField('gint', 'orientation', '1');
  if (frameHeight !== undefined) fields += vipsField('gint', 'page-height', String(frameHeight));
  const xml = `<?xml version="1.0"?>\n<root xmlns="http://www.vips.ecs.soton.ac.uk/vips/8.18.7">\n  <header>\n  </header>\n  <meta>\n${fields}  </meta>\n</root>\n`;
  // In parts, so the pixels are written from the image itself rather than copied into one large buffer first.
  return [header, bytesOf(image), Buffer.from(xml)];
}

/**
 * GIF: libimagequant's palette of up to 256 colours per frame with Floyd-Steinberg dithering (sharp's defaults),
 * every frame kept even when two are alike, so frame counts and delays match the input's.
 */
const GIF_OPTIONS = { colours: 256, dither: 1, effort: 7, keepDuplicateFrames: true } as const;

function withFormat(pipeline: Sharp, image: Image, { format, quality, animation }: EncodeOptions): Sharp {
  const timing = animation ? { loop: animation.loop, delay: animation.delay } : {};
  switch (format) {
    case 'png':
      // Adaptive filtering: 41-48 % smaller files for 0.2-0.8 s more per 2-4 Mpx image (README "Pixels").
      return pipeline.png({ compressionLevel: 6, adaptiveFiltering: true });
    case 'jpeg':
      // JPEG has no alpha: composite onto white rather than let transparent areas turn black.
      return (hasAlpha(image) ? pipeline.flatten({ background: '#ffffff' }) : pipeline).jpeg({ quality: quality ?? READABLE.jpeg.defaultQuality, chromaSubsampling: '4:4:4' });
    case 'webp':
      return pipeline.webp({ quality: quality ?? READABLE.webp.defaultQuality, ...timing });
    case 'avif':
      return pipeline.avif({ quality: quality ?? READABLE.avif.defaultQuality });
    case 'tiff':
      return pipeline.tiff({ compression: 'lzw', predictor: 'horizontal' });
    case 'gif':
      return pipeline.gif({ ...GIF_OPTIONS, ...timing });
  }
}

/**
 * Runs `finish` on a sharp pipeline over the image with its metadata attached. When there is metadata to keep, the
 * pixels go through a libvips staging file at `staging` (see `vipsFile`), removed afterwards.
 */
async function withMetadata<T>(image: Image, options: EncodeOptions, staging: string, finish: (pipeline: Sharp) => Promise<T>): Promise<T> {
  const { metadata } = options;
  const frameHeight = options.animation?.frameHeight;
  if (!metadata || (!metadata.icc && !metadata.exif && !metadata.xmp && metadata.density === undefined)) return finish(sharpFrom(image, frameHeight));
  return withTemporary(staging, async () => {
    await writeFile(staging, Readable.from(vipsFile(image, metadata, frameHeight)));
    return finish(sharp(staging, { limitInputPixels: false }).keepMetadata().toColourspace(colourspaceOf(image)));
  });
}

/**
 * Encodes straight into a file at `path`: libvips writes it as it encodes, so the encoded bytes are never held
 * whole in memory. The staging file sits beside the output, so a full disk or a read-only folder is reported for
 * the output's own folder.
 */
export async function encodeToFile(image: Image, options: EncodeOptions, path: string): Promise<void> {
  try {
    await withMetadata(image, options, `${path}.v`, async (pipeline) => {
      await withFormat(pipeline, image, options).toFile(path);
    });
  } catch (error) {
    (error as NodeJS.ErrnoException).code ??= errnoCodeOf((error as Error).message);
    throw error;
  }
}

/** Encodes into memory (stdout, a library caller); a staging file, if metadata needs one, goes to the temporary folder. */
export async function encodeToBuffer(image: Image, options: EncodeOptions): Promise<Buffer> {
  const staging = join(tmpdir(), `upscale-${process.pid}-${randomBytes(6).toString('hex')}.v`);
  return withMetadata(image, options, staging, (pipeline) => withFormat(pipeline, image, options).toBuffer());
}

/** libvips reports a failed write as "system error: <strerror text>"; this recovers the errno name (ENOSPC, …). */
function errnoCodeOf(message: string): string | undefined {
  const text = /system error: ([^\n]+)/.exec(message)?.[1]?.toLowerCase();
  if (text === undefined) return undefined;
  for (const [name, description] of getSystemErrorMap().values()) if (description.toLowerCase() === text) return name;
  return undefined;
}
