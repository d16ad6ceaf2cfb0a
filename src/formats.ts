/**
 * The image formats the tool knows, in one table: which it reads and writes, their file extensions, their limits
 * and their default quality. Discovery, output naming, the encoder, option parsing and the messages all read it.
 */

/** Formats the tool writes (and the names `--format` takes). */
export const FORMATS = ['png', 'jpeg', 'webp', 'avif', 'tiff'] as const;
export type Format = (typeof FORMATS)[number];

export interface FormatSpec {
  /** The name sharp's `metadata().format` reports for it (AVIF is `heif` with AV1 compression). */
  name: string;
  /** Lower case, without the dot; the first one is written. */
  extensions: readonly string[];
  /** Largest width or height the encoder writes; undefined for formats the tool only reads. */
  maxSide?: number;
  /** For the lossy encoders. */
  defaultQuality?: number;
}

/** Everything the tool reads. A file is judged by its content (sharp's own detection), never by its name. */
export const READABLE = {
  jpeg: { name: 'jpeg', extensions: ['jpg', 'jpeg', 'jpe', 'jfif'], maxSide: 65535, defaultQuality: 90 },
  png: { name: 'png', extensions: ['png'], maxSide: 2 ** 31 - 1 },
  webp: { name: 'webp', extensions: ['webp'], maxSide: 16383, defaultQuality: 90 },
  avif: { name: 'heif', extensions: ['avif'], maxSide: 16384, defaultQuality: 60 },
  tiff: { name: 'tiff', extensions: ['tif', 'tiff'], maxSide: 2 ** 31 - 1 },
  // Read as a still image; written as png (no encoder here for it).
  gif: { name: 'gif', extensions: ['gif'] },
} as const satisfies Record<Format | 'gif', FormatSpec>;

export type ReadableFormat = keyof typeof READABLE;

/** Another name `format` takes for a written format: any of its extensions (jpg, tif, …). */
export type FormatAlias = (typeof READABLE)[Format]['extensions'][number];

/** Extensions of the HTML pages the tool writes (--report, `upscale compare`), with the dot. */
export const PAGE_EXTENSIONS: readonly string[] = ['.html', '.htm'];

/** Extensions that folder and glob walks pick up. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.values(READABLE).flatMap((spec) => spec.extensions);

/** ".png, .jpg, .webp, .avif, .tif": for messages. */
export const WRITABLE_EXTENSIONS = FORMATS.map((format) => `.${READABLE[format].extensions[0]}`).join(', ');

/** Image formats the tool neither reads nor writes, by extension: an `-o` ending so is a mistake, not a folder. */
const OTHER_IMAGE_EXTENSIONS = ['bmp', 'dib', 'heic', 'heif', 'jxl', 'jp2', 'j2k', 'svg', 'svgz', 'ico', 'icns', 'psd', 'tga', 'ppm', 'pgm', 'pbm', 'pnm', 'exr', 'hdr', 'dng', 'raw', 'pdf'];

/** Whether an extension (with or without the dot) names an image format of any kind. */
export function isImageExtension(extension: string): boolean {
  const bare = extension.replace(/^\./, '').toLowerCase();
  return IMAGE_EXTENSIONS.includes(bare) || OTHER_IMAGE_EXTENSIONS.includes(bare);
}

/** "jpeg, png, webp, avif, tiff, gif": for messages. */
export const READABLE_LIST = Object.keys(READABLE).join(', ');

/** The written format an extension (with or without the dot, any case) names, if any. */
export function writableFormatOf(extension: string): Format | undefined {
  const bare = extension.replace(/^\./, '').toLowerCase();
  return FORMATS.find((format) => (READABLE[format].extensions as readonly string[]).includes(bare));
}

/** The format an input of this format is written as by default: its own, or png where no encoder here writes it (gif). */
export function writtenAs(format: ReadableFormat): Format {
  return (FORMATS as readonly string[]).includes(format) ? (format as Format) : 'png';
}

/** The usual file extension of a written format, with the dot. */
export function extensionOf(format: Format): string {
  return `.${READABLE[format].extensions[0]}`;
}

/** Whether sharp's own detection (metadata().format, compression) agrees with the sniffed format. */
export function sharpAgrees(format: ReadableFormat, detected: string | undefined, compression: string | undefined): boolean {
  return READABLE[format].name === detected && (format !== 'avif' || compression === 'av1');
}

/** How many leading bytes `sniff` needs. */
export const SNIFF_BYTES = 1024;

const ascii = (bytes: Uint8Array, at: number, text: string) => Buffer.from(bytes.subarray(at, at + text.length)).toString('latin1') === text;

/** ISO base media (AVIF, HEIC): the brands of the leading ftyp box. */
function brands(bytes: Uint8Array): string[] {
  if (!ascii(bytes, 4, 'ftyp')) return [];
  const size = Math.min(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0), bytes.length);
  const found = [Buffer.from(bytes.subarray(8, 12)).toString('latin1')];
  for (let at = 16; at + 4 <= size; at += 4) found.push(Buffer.from(bytes.subarray(at, at + 4)).toString('latin1'));
  return found;
}

/**
 * The format of a file from its leading bytes, before any decoder sees it: only these formats ever reach libvips,
 * so a document format (an SVG with external references, a PDF) is never parsed, whatever its name.
 */
export function sniff(bytes: Uint8Array): { format?: ReadableFormat; detected: string } {
  const b = bytes;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { format: 'jpeg', detected: 'jpeg' };
  if (ascii(b, 0, '\x89PNG\r\n\x1a\n')) return { format: 'png', detected: 'png' };
  if (ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) return { format: 'gif', detected: 'gif' };
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return { format: 'webp', detected: 'webp' };
  if (ascii(b, 0, 'II*\0') || ascii(b, 0, 'MM\0*') || ascii(b, 0, 'II+\0') || ascii(b, 0, 'MM\0+')) return { format: 'tiff', detected: 'tiff' };
  const boxBrands = brands(b);
  if (boxBrands.includes('avif') || boxBrands.includes('avis')) return { format: 'avif', detected: 'avif' };
  if (boxBrands.length > 0) return { detected: `heif (${boxBrands[0]!.trim()})` };
  // Formats refused by name, so the message says what the file really is.
  if (ascii(b, 0, '%PDF')) return { detected: 'pdf' };
  if (ascii(b, 0, 'BM')) return { detected: 'bmp' };
  if (ascii(b, 0, '8BPS')) return { detected: 'psd' };
  if ((b[0] === 0xb6 && b[1] === 0xa6 && b[2] === 0xf2 && b[3] === 0x08) || (b[0] === 0x08 && b[1] === 0xf2 && b[2] === 0xa6 && b[3] === 0xb6)) {
    return { detected: 'libvips native' };
  }
  const text = Buffer.from(b).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (/<svg[\s>]/i.test(text)) return { detected: 'svg' };
  if (text.startsWith('<?xml') || text.startsWith('<!DOCTYPE')) return { detected: 'xml' };
  if (b[0] === 0x1f && b[1] === 0x8b) return { detected: 'gzip (perhaps svgz)' };
  return { detected: 'unknown format' };
}
