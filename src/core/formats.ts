/**
 * The image formats and video containers the tool knows, in one table each: which it reads and writes, their file
 * extensions, their limits, their default quality and encoder. Discovery, output naming, the encoders, option
 * parsing and the messages all read them.
 */

/** Image formats the tool writes (and the names `--format` takes). */
export const FORMATS = ['png', 'jpeg', 'webp', 'avif', 'tiff', 'gif'] as const;
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
  /** Holds an animation: every frame, with its delay, and the loop count. */
  animated?: boolean;
  /** An animation's delays are whole multiples of this many milliseconds (GIF counts in hundredths of a second). */
  delayStep?: number;
}

/** Everything the tool reads. A file is judged by its content (sharp's own detection), never by its name. */
export const READABLE = {
  jpeg: { name: 'jpeg', extensions: ['jpg', 'jpeg', 'jpe', 'jfif'], maxSide: 65535, defaultQuality: 90 },
  png: { name: 'png', extensions: ['png'], maxSide: 2 ** 31 - 1 },
  webp: { name: 'webp', extensions: ['webp'], maxSide: 16383, defaultQuality: 90, animated: true, delayStep: 1 },
  avif: { name: 'heif', extensions: ['avif'], maxSide: 16384, defaultQuality: 60 },
  tiff: { name: 'tiff', extensions: ['tif', 'tiff'], maxSide: 2 ** 31 - 1 },
  gif: { name: 'gif', extensions: ['gif'], maxSide: 65535, animated: true, delayStep: 10 },
} as const satisfies Record<Format, FormatSpec>;

export type ReadableFormat = keyof typeof READABLE;

/** Another name `format` takes for a written format: any of its extensions (jpg, tif, …). */
export type FormatAlias = (typeof READABLE)[Format]['extensions'][number];

/** Extensions of the HTML pages the tool writes (--report, `upscale compare`), with the dot. */
export const PAGE_EXTENSIONS: readonly string[] = ['.html', '.htm'];

/** The image formats that hold animations, for messages: "webp|gif". */
export const ANIMATED_FORMATS = FORMATS.filter((format) => (READABLE[format] as FormatSpec).animated);

/**
 * ffmpeg's demuxer for each video family the content sniff recognises: the only demuxers ffmpeg is ever run with, so
 * it never guesses a format from the content itself (a playlist or a concat script named clip.mp4 is not followed).
 */
export const VIDEO_DEMUXERS = ['mov', 'matroska', 'avi'] as const;
export type VideoDemuxer = (typeof VIDEO_DEMUXERS)[number];

/** Video containers, read and written with ffmpeg (see video.ts). */
export const VIDEO_FORMATS = ['mp4', 'mov', 'mkv', 'webm', 'avi'] as const;
export type VideoFormat = (typeof VIDEO_FORMATS)[number];

export interface VideoSpec {
  /** Lower case, without the dot; the first one is written. */
  extensions: readonly string[];
  /** The family its content is sniffed as. */
  demuxer: VideoDemuxer;
  /** ffmpeg's muxer name. */
  muxer: string;
  /** The codec written unless `--video-codec` says otherwise. */
  codec: VideoCodec;
  /** ffmpeg's audio encoder when the source's audio is encoded for this container (`--audio`). */
  audio: string;
}

/** `--audio`: copy the source's audio where the container holds it and encode it where not, or always one of them. */
export const AUDIO_MODES = ['auto', 'copy', 'encode'] as const;
export type AudioMode = (typeof AUDIO_MODES)[number];

export const VIDEO = {
  mp4: { extensions: ['mp4', 'm4v'], demuxer: 'mov', muxer: 'mp4', codec: 'h264', audio: 'aac' },
  mov: { extensions: ['mov'], demuxer: 'mov', muxer: 'mov', codec: 'h264', audio: 'aac' },
  mkv: { extensions: ['mkv'], demuxer: 'matroska', muxer: 'matroska', codec: 'h264', audio: 'libopus' },
  webm: { extensions: ['webm'], demuxer: 'matroska', muxer: 'webm', codec: 'vp9', audio: 'libopus' },
  avi: { extensions: ['avi'], demuxer: 'avi', muxer: 'avi', codec: 'h264', audio: 'libmp3lame' },
} as const satisfies Record<VideoFormat, VideoSpec>;

/** Video encoders `--video-codec` names: ffmpeg's encoder, its constant-quality default and the containers that hold it. */
export const VIDEO_CODECS = {
  h264: { encoder: 'libx264', defaultCrf: 18, maxCrf: 51, containers: ['mp4', 'mov', 'mkv', 'avi'] },
  h265: { encoder: 'libx265', defaultCrf: 20, maxCrf: 51, containers: ['mp4', 'mov', 'mkv'] },
  vp9: { encoder: 'libvpx-vp9', defaultCrf: 31, maxCrf: 63, containers: ['mkv', 'webm'] },
} as const satisfies Record<string, { encoder: string; defaultCrf: number; maxCrf: number; containers: readonly VideoFormat[] }>;
export type VideoCodec = keyof typeof VIDEO_CODECS;
export const VIDEO_CODEC_NAMES = Object.keys(VIDEO_CODECS) as VideoCodec[];

/** Extensions that folder and glob walks pick up: images and videos. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.values(READABLE).flatMap((spec) => spec.extensions);
export const VIDEO_EXTENSIONS: readonly string[] = Object.values(VIDEO).flatMap((spec) => spec.extensions);
export const MEDIA_EXTENSIONS: readonly string[] = [...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS];

/** ".png, .jpg, .webp, .avif, .tif, .gif, .mp4, …": for messages. */
export const WRITABLE_EXTENSIONS = [...FORMATS.map((format) => READABLE[format].extensions[0]), ...VIDEO_FORMATS.map((format) => VIDEO[format].extensions[0])]
  .map((extension) => `.${extension}`)
  .join(', ');

const bareExtension = (extension: string) => extension.replace(/^\./, '').toLowerCase();

/** Image and video formats the tool neither reads nor writes, by extension: an `-o` ending so is a mistake, not a folder. */
const OTHER_MEDIA_EXTENSIONS = ['bmp', 'dib', 'heic', 'heif', 'jxl', 'jp2', 'j2k', 'svg', 'svgz', 'ico', 'icns', 'psd', 'tga', 'ppm', 'pgm', 'pbm', 'pnm', 'exr', 'hdr', 'dng', 'raw', 'pdf', 'flv', 'wmv', 'mpg', 'mpeg', 'ts', 'm2ts', '3gp', 'ogv'];

/** Whether an extension (with or without the dot) names an image or video format of any kind. */
export function isMediaExtension(extension: string): boolean {
  const bare = bareExtension(extension);
  return MEDIA_EXTENSIONS.includes(bare) || OTHER_MEDIA_EXTENSIONS.includes(bare);
}

/** "jpeg, png, webp, avif, tiff, gif; videos: mp4, m4v, mov, mkv, webm, avi": for messages. */
export const READABLE_LIST = `${Object.keys(READABLE).join(', ')}; videos: ${VIDEO_EXTENSIONS.join(', ')}`;

/** The written image format an extension (with or without the dot, any case) names, if any. */
export function writableFormatOf(extension: string): Format | undefined {
  const bare = bareExtension(extension);
  return FORMATS.find((format) => (READABLE[format].extensions as readonly string[]).includes(bare));
}

/** The video container an extension (with or without the dot, any case) names, if any. */
export function videoFormatOf(extension: string): VideoFormat | undefined {
  const bare = bareExtension(extension);
  return VIDEO_FORMATS.find((format) => (VIDEO[format].extensions as readonly string[]).includes(bare));
}

/** The usual file extension of a written image format or video container, with the dot. */
export function extensionOf(format: Format | VideoFormat): string {
  return `.${isVideoFormat(format) ? VIDEO[format].extensions[0] : READABLE[format].extensions[0]}`;
}

export function isVideoFormat(format: Format | VideoFormat): format is VideoFormat {
  return (VIDEO_FORMATS as readonly string[]).includes(format);
}

/** Whether sharp's own detection (metadata().format, compression) agrees with the sniffed format. */
export function sharpAgrees(format: ReadableFormat, detected: string | undefined, compression: string | undefined): boolean {
  return READABLE[format].name === detected && (format !== 'avif' || compression === 'av1');
}

/** How many leading bytes `sniff` needs. */
export const SNIFF_BYTES = 1024;

const ascii = (bytes: Uint8Array, at: number, text: string) => Buffer.from(bytes.subarray(at, at + text.length)).toString('latin1') === text;

/** Brands of HEIF still images and image sequences other than AVIF: refused, never handed to ffmpeg as a movie. */
const HEIF_IMAGE_BRANDS = ['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1', 'mif2', 'jpeg', 'vvic'];

/** The first box of a QuickTime movie written without an ftyp box. */
const QUICKTIME_BOXES = ['moov', 'mdat', 'wide', 'free', 'skip', 'pnot'];

/** ISO base media (AVIF, HEIC, MP4, MOV): the brands of the leading ftyp box. */
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
export function sniff(bytes: Uint8Array): { format?: ReadableFormat; video?: VideoDemuxer; detected: string } {
  const b = bytes;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { format: 'jpeg', detected: 'jpeg' };
  if (ascii(b, 0, '\x89PNG\r\n\x1a\n')) return { format: 'png', detected: 'png' };
  if (ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) return { format: 'gif', detected: 'gif' };
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return { format: 'webp', detected: 'webp' };
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'AVI ')) return { video: 'avi', detected: 'avi' };
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return { video: 'matroska', detected: 'matroska' };
  if (ascii(b, 0, 'II*\0') || ascii(b, 0, 'MM\0*') || ascii(b, 0, 'II+\0') || ascii(b, 0, 'MM\0+')) return { format: 'tiff', detected: 'tiff' };
  const boxBrands = brands(b);
  if (boxBrands.includes('avif') || boxBrands.includes('avis')) return { format: 'avif', detected: 'avif' };
  if (boxBrands.some((brand) => HEIF_IMAGE_BRANDS.includes(brand))) return { detected: `heif (${boxBrands[0]!.trim()})` };
  // Any other ISO base media file is a movie (isom, mp42, qt, M4V, 3gp…); so is an old QuickTime file without ftyp.
  if (boxBrands.length > 0 || QUICKTIME_BOXES.some((box) => ascii(b, 4, box))) return { video: 'mov', detected: 'mov' };
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

/**
 * Whether a PNG is animated (APNG): an acTL chunk before the first IDAT. `read` gives the bytes at an offset (fewer
 * at the end of the file). libvips reads only an APNG's first frame, so the tool refuses one rather than cut it.
 */
export async function isAnimatedPng(read: (offset: number, length: number) => Promise<Uint8Array>): Promise<boolean> {
  for (let offset = 8; ; ) {
    const header = await read(offset, 8);
    if (header.length < 8) return false;
    const type = Buffer.from(header.subarray(4, 8)).toString('latin1');
    if (type === 'acTL') return true;
    if (type === 'IDAT' || type === 'IEND') return false;
    offset += 12 + new DataView(header.buffer, header.byteOffset, 8).getUint32(0);
  }
}
