/**
 * `--report <file.html>`: once the batch is done, a thumbnail of each file (and a PNG copy of any file browsers
 * cannot show, or a video's first frame) goes into the page's files folder, and the page links them and the real
 * inputs and outputs.
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { extname, join } from 'node:path';
import pLimit from 'p-limit';
import { describeEdits } from '../pixels/edit.js';
import type { ResolvedOptions } from '../options/options.js';
import { filesFolderOf, hrefFrom, reportPage, writePage, type ReportEntry } from './pages.js';
import { browserCopy, posterFrame, viewable, thumbnail } from './preview.js';
import { findFfmpeg } from '../files/ffmpeg.js';
import { videoFormatOf } from '../core/formats.js';
import type { FileResult, UpscaleReport } from '../core/results.js';

async function isFile(path: string): Promise<boolean> {
  return path !== '' && ((await stat(path).catch(() => undefined))?.isFile() ?? false);
}

/**
 * One file's entry. Inputs are only opened when they are regular files, and with the batch's --max-pixels: the page
 * never reads what the batch refused. A preview that cannot be made leaves the entry without that picture.
 */
async function entryFor(file: FileResult, index: number, page: string, maxPixels: number, ffmpeg: string | undefined): Promise<ReportEntry> {
  const { input, output, status, error, width, height, outWidth, outHeight, model, ms } = file;
  const entry: ReportEntry = { input, status, error, width, height, outWidth, outHeight, model, ms, links: {} };
  const folder = filesFolderOf(page);
  const name = String(index + 1).padStart(4, '0');
  const thumb = join(folder, `${name}.webp`);
  const href = (path: string) => hrefFrom(page, path);
  const made = async (path: string, make: () => Promise<void>) => make().then(() => href(path), () => undefined);
  const inputIsFile = await isFile(input);
  if (inputIsFile) entry.links.input = href(input);
  if (status !== 'error' && (await isFile(output))) {
    entry.links.output = href(output);
    entry.bytes = (await stat(output)).size;
    if (videoFormatOf(extname(output)) !== undefined) {
      // A video: its first frame before and after, as posters; without ffmpeg, no picture.
      if (ffmpeg === undefined) return entry;
      const [after, before] = [join(folder, `${name}-after.png`), join(folder, `${name}-before.png`)];
      entry.links.after = await made(after, () => posterFrame(ffmpeg, output, after));
      if (entry.links.after) entry.links.thumbnail = await made(thumb, () => thumbnail(after, thumb, false));
      if (inputIsFile) entry.links.before = await made(before, () => posterFrame(ffmpeg, input, before));
      return entry;
    }
    const after = await viewable(output, false);
    if (after) {
      // A skipped file's sizes were never read by the batch: those of the files shown are.
      entry.outWidth ??= after.width;
      entry.outHeight ??= after.height;
      entry.links.thumbnail = await made(thumb, () => thumbnail(output, thumb, false));
      const copy = join(folder, `${name}-after.png`);
      entry.links.after = after.browserCanShow ? entry.links.output : await made(copy, () => browserCopy(output, copy, false));
    }
    const before = inputIsFile ? await viewable(input, maxPixels) : undefined;
    if (before) {
      entry.width ??= before.width;
      entry.height ??= before.height;
      const copy = join(folder, `${name}-before.png`);
      entry.links.before = before.browserCanShow ? entry.links.input : await made(copy, () => browserCopy(input, copy, maxPixels));
    }
  } else if (inputIsFile && width !== undefined) {
    // A failed file whose header was read: its input is the picture.
    entry.links.thumbnail = await made(thumb, () => thumbnail(input, thumb, maxPixels));
  }
  return entry;
}

/** Writes the page for a finished (or interrupted) batch; the folder was checked by `preparePage` before it ran. */
export async function writeReportPage(page: string, report: UpscaleReport, options: Pick<ResolvedOptions, 'edits' | 'maxPixels' | 'optionName' | 'ffmpeg'>): Promise<void> {
  const limit = pLimit(availableParallelism());
  let ffmpeg: string | undefined;
  try {
    ffmpeg = findFfmpeg(options.ffmpeg, page);
  } catch {
    ffmpeg = undefined;
  }
  const entries = await Promise.all(report.files.map((file, i) => limit(() => entryFor(file, i, page, options.maxPixels, ffmpeg))));
  const html = reportPage({ entries, summary: report.summary, edits: describeEdits(options.edits), created: new Date() });
  await writePage(page, options.optionName('report'), html);
}
