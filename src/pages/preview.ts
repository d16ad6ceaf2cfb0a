/**
 * Images made for the HTML pages (--report, `upscale compare`): small thumbnails, and PNG copies of files a browser
 * cannot show (TIFF). Views of files already written, never the pipeline's own pixels.
 */
import { resolve } from 'node:path';
import sharp from 'sharp';
import { ffmpegError, startFfmpeg } from '../files/ffmpeg.js';

/** Longest side of a thumbnail, in pixels: sharp enough for a grid card on a high-density screen. */
export const THUMBNAIL_SIDE = 256;

/** Formats (as sharp names them) that current browsers display in an <img>; AVIF is heif with AV1 compression. */
const BROWSER_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'heif']);

export interface Viewable {
  /** Orientation applied. */
  width: number;
  height: number;
  /** Whether a browser shows the file itself; when not, a page shows its `browserCopy`. */
  browserCanShow: boolean;
}

/**
 * `maxPixels`: an input's limit (--max-pixels), so a page never decodes what the batch refused; false for outputs.
 */
type Limit = number | false;

const open = (path: string, maxPixels: Limit) => sharp(path, { animated: false, limitInputPixels: maxPixels });

/** The file's size and whether browsers show it; undefined when it cannot be read (a page shows it without a picture). */
export async function viewable(path: string, maxPixels: Limit): Promise<Viewable | undefined> {
  try {
    const meta = await open(path, maxPixels).metadata();
    const { width, height } = meta.autoOrient ?? meta;
    const browserCanShow = BROWSER_FORMATS.has(meta.format ?? '') && (meta.format !== 'heif' || meta.compression === 'av1');
    return { width, height, browserCanShow };
  } catch {
    return undefined;
  }
}

/** Writes a WebP thumbnail of `source`, at most THUMBNAIL_SIDE px a side and never enlarged, to `target`. */
export async function thumbnail(source: string, target: string, maxPixels: Limit): Promise<void> {
  await open(source, maxPixels)
    .autoOrient()
    .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75 })
    .toFile(target);
}

/** A full-size PNG copy of `source`, orientation applied, for a page to show a file browsers cannot (TIFF). */
export async function browserCopy(source: string, target: string, maxPixels: Limit): Promise<void> {
  await open(source, maxPixels).autoOrient().png({ compressionLevel: 6 }).toFile(target);
}

/** A video's first frame as a PNG, its poster for a page (browsers show it at once; the video itself is linked). */
export async function posterFrame(ffmpeg: string, source: string, target: string): Promise<void> {
  const run = startFfmpeg(ffmpeg, ['-i', `file:${resolve(source)}`, '-map', '0:v:0', '-frames:v', '1', '-c:v', 'png', '-f', 'image2', '-y', target]);
  run.process.stdin!.end();
  run.process.stdout!.resume();
  const { code, stderr } = await run.exited;
  if (code !== 0) throw new Error(ffmpegError(stderr));
}
