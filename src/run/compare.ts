/**
 * `upscale compare`: one image, or a crop of it in input pixels so slow models stay quick, through several models
 * and baselines one after another, and one page showing the same region of every result side by side with the time
 * each took. The region and the results are PNG files in the page's files folder.
 */
import { basename, join } from 'node:path';
import { DEFAULT_MODEL, findModel, modelNames, type ModelName } from '../models/catalog.js';
import { decode, readHeader } from '../files/decode.js';
import type { Crop } from '../pixels/edit.js';
import { encodeToFile } from '../files/encode.js';
import { AbortError, errorLine, ModelError, UsageError } from '../core/errors.js';
import { extract } from '../core/image.js';
import { upscale } from './batch.js';
import { messages } from '../core/messages.js';
import { resolveOptions, type UpscaleOptions } from '../options/options.js';
import { crop as cropParser, htmlFile } from '../options/parsers.js';
import { comparePage, filesFolderOf, hrefFrom, preparePage, writePage, type CompareResult } from '../pages/pages.js';
import { writeAtomically } from '../files/write.js';

export interface CompareOptions {
  /** Models and baselines as --model names them, as an array or one comma-separated string; default: COMPARE_MODELS. */
  models?: string | readonly string[];
  /** Output scale for every model; default: each model's own. */
  scale?: number | string;
  /** The region to compare, in input pixels: `left,top,width,height`. */
  crop?: Crop | string;
  /** The page to write, an .html file; the images go in its files folder (`page_files/` beside `page.html`). */
  output?: string;
  device?: string;
  /** As the batch's `precision`, `noise` and `tta`, for every model they apply to (one they do not fits shows why). */
  precision?: UpscaleOptions['precision'];
  noise?: UpscaleOptions['noise'];
  tta?: boolean;
  onNotice?: (line: string) => void;
  signal?: AbortSignal;
}

export interface CompareReport {
  page: string;
  image: string;
  crop?: Crop;
  /** The region's size. */
  width: number;
  height: number;
  results: (CompareResult & { output?: string })[];
}

const OUTPUT_FLAG = '-o';
/** What a comparison runs when not told: the classic baseline against the default model. */
export const COMPARE_MODELS: readonly string[] = ['bicubic', DEFAULT_MODEL];

function modelList(value: CompareOptions['models']): string[] {
  const names = (typeof value === 'string' ? value.split(',') : (value ?? COMPARE_MODELS)).map((name) => name.trim());
  if (names.length === 0 || names.some((name) => name === '')) throw new UsageError(messages.expected('a comma-separated list of models', '--model', typeof value === 'string' ? value : names.join(',')));
  for (const name of names) if (!findModel(name)) throw new UsageError(messages.unknownModel(name, modelNames(), '--model'));
  return names;
}

/** A result's file name: its place in the list, then the model's name in characters safe everywhere. */
function resultName(index: number, model: string): string {
  return `${String(index + 1).padStart(2, '0')}-${basename(model, '.onnx').replace(/[^\w.-]+/g, '-')}.png`;
}

export async function compare(image: string, options: CompareOptions = {}): Promise<CompareReport> {
  if (options.output === undefined) throw new UsageError(messages.needsFlag('upscale compare', `${OUTPUT_FLAG} <file.html>`));
  const page = htmlFile.parse(options.output, OUTPUT_FLAG);
  const models = modelList(options.models);
  const crop = options.crop === undefined ? undefined : cropParser.parse(options.crop, '--crop');
  // The batch's own checks, once, so a bad --scale or --device stops before any model runs.
  const { maxPixels } = resolveOptions({ scale: options.scale, device: options.device, precision: options.precision, tta: options.tta }, 'flag');
  const header = await readHeader(image);
  if (crop && (crop.left + crop.width > header.width || crop.top + crop.height > header.height)) {
    throw new UsageError(messages.compareCropOutside(image, `${crop.left},${crop.top},${crop.width},${crop.height}`, header.width, header.height));
  }
  await preparePage(page, OUTPUT_FLAG);
  const folder = filesFolderOf(page);
  const decoded = await decode(image, header.format, maxPixels);
  const region = crop ? extract(decoded.image, crop) : decoded.image;
  const regionFile = join(folder, 'input.png');
  await writeAtomically(regionFile, (temporary) => encodeToFile(region, { format: 'png', metadata: decoded.metadata }, temporary), { overwrite: true, input: image });

  const results: CompareReport['results'] = [];
  // Each run would say the same (the device chosen): once is enough.
  const said = new Set<string>();
  const onNotice = (line: string) => (said.has(line) ? undefined : (said.add(line), options.onNotice?.(line)));
  // One after another, so each has the machine to itself and its time means something.
  for (const [i, model] of models.entries()) {
    const output = join(folder, resultName(i, model));
    try {
      const { precision, noise, tta } = options;
      const run = { model: model as ModelName, scale: options.scale, device: options.device, precision, noise, tta, output, overwrite: true, onNotice, signal: options.signal };
      const { files, summary } = await upscale(regionFile, run);
      const file = files[0];
      if (summary.interrupted || !file) throw new AbortError('interrupted');
      if (file.status !== 'ok') results.push({ model: file.model, error: file.error });
      else results.push({ model: file.model, ...(file.precision && { precision: file.precision }), output, link: hrefFrom(page, output), width: file.outWidth, height: file.outHeight, ms: file.ms, totalMs: summary.ms });
    } catch (error) {
      if (!(error instanceof ModelError || error instanceof UsageError)) throw error;
      results.push({ model, error: errorLine(error) });
    }
  }
  const html = comparePage({ image, crop, input: { link: hrefFrom(page, regionFile), width: region.width, height: region.height }, results, created: new Date() });
  await writePage(page, OUTPUT_FLAG, html);
  return { page, image, crop, width: region.width, height: region.height, results };
}
