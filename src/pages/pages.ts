/**
 * The HTML of the two pages the tool writes, the batch report (`--report`) and the model comparison
 * (`upscale compare`), where their files go, and writing them. Each page is one self-contained file: its style and
 * script (web/page.css, web/page.js) are inline, and its Content-Security-Policy lets it load images and nothing
 * else, so it works from the file system, offline, and never fetches from the network. Images are linked by
 * relative path, so the page can be archived with them.
 */
import { readFileSync } from 'node:fs';
import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import type { Crop } from '../pixels/edit.js';
import { inputError, UsageError } from '../core/errors.js';
import { errnoText, messages } from '../core/messages.js';
import { writeAtomically } from '../files/write.js';
import { escapeMarkup } from '../core/markup.js';
import { countsPhrase, type FileResult, type UpscaleSummary } from '../core/results.js';

/** One file of the batch as the report page shows it; links are relative URLs, already encoded. */
export interface ReportEntry extends Pick<FileResult, 'input' | 'status' | 'error' | 'width' | 'height' | 'outWidth' | 'outHeight' | 'model' | 'ms'> {
  /** Size of the output file in bytes, when it exists. */
  bytes?: number;
  links: { input?: string; output?: string; thumbnail?: string; before?: string; after?: string };
}

export interface ReportPageData {
  entries: ReportEntry[];
  summary: UpscaleSummary;
  /** The batch's edits as flags say them, in the order they are applied. */
  edits: string[];
  created: Date;
}

/** One model's result on the compare page. */
export interface CompareResult {
  model: string;
  /** A network's precision (fp32, int8); absent for the baselines. */
  precision?: string;
  /** The result image, relative to the page; absent when the model failed. */
  link?: string;
  width?: number;
  height?: number;
  /** The image's own time (decode to encode), and the whole run's, model loading included. */
  ms?: number;
  totalMs?: number;
  error?: string;
}

export interface ComparePageData {
  /** The image as the user named it. */
  image: string;
  crop?: Crop;
  /** The (cropped) input as the models saw it, relative to the page. */
  input: { link: string; width: number; height: number };
  results: CompareResult[];
  created: Date;
}

/** web/ sits beside src/ and dist/ alike, and ships in the package. */
const script = readFileSync(new URL('../../web/page.js', import.meta.url), 'utf8');
const style = readFileSync(new URL('../../web/page.css', import.meta.url), 'utf8');

/** Makes the page's folder and its files folder, and checks it is writable, before any work is done. */
export async function preparePage(page: string, flag: string): Promise<void> {
  try {
    await mkdir(filesFolderOf(page), { recursive: true });
    await access(dirname(page), constants.W_OK);
  } catch (error) {
    throw new UsageError(messages.pageUnwritable(flag, page, errnoText((error as NodeJS.ErrnoException).code)));
  }
}

/**
 * The folder beside a page for the images it makes (thumbnails, copies browsers can show, compare's results): named
 * as browsers name a saved page's, `report_files` for `report.html`, so the two travel together; folder walks skip it.
 */
export function filesFolderOf(page: string): string {
  return join(dirname(page), `${basename(page, extname(page))}_files`);
}

/** A file's address from the page: a relative path, each segment percent-encoded, so `#`, `?`, `%` and spaces work. */
export function hrefFrom(page: string, file: string): string {
  return relative(dirname(resolve(page)), resolve(file)).split(sep).map(encodeURIComponent).join('/');
}

/** Writes a page atomically (a CI artifact is never half a page), replacing an earlier one. */
export async function writePage(page: string, flag: string, html: string): Promise<void> {
  await writeAtomically(page, (temporary) => writeFile(temporary, html), { overwrite: true, input: page, failed: (detail) => inputError('pageUnwritable', flag, page, detail) });
}

function size(width: number | undefined, height: number | undefined): string {
  return width && height ? `${width}×${height}` : '–';
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function bytes(count: number): string {
  return `${count.toLocaleString('en-GB')} bytes`;
}

function scaleText(scale: number): string {
  return `×${Number(scale.toFixed(3))}`;
}

const STATUS_TEXT: Record<FileResult['status'], string> = { ok: 'upscaled', skipped: 'skipped: output exists', error: 'failed', planned: 'planned' };


/** Images only, from the page's own place (file: or its server); no script, style or fetch from anywhere else. */
const POLICY = "default-src 'none'; img-src 'self' file:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

function page(kind: 'report' | 'compare', title: string, body: string, created: Date): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${POLICY}">
<meta name="color-scheme" content="light dark">
<title>${escapeMarkup(title)}</title>
<style>${style}</style>
</head>
<body data-page="${kind}">
${body}
<footer>Written by upscale on ${escapeMarkup(created.toISOString().replace(/\.\d+Z$/, 'Z'))}.</footer>
<script>${script}</script>
</body>
</html>
`;
}

function fact(term: string, value: string): string {
  return `<dt>${escapeMarkup(term)}</dt><dd>${escapeMarkup(value)}</dd>`;
}

function entryHtml(entry: ReportEntry, index: number, scale: number, edits: string): string {
  const id = `f${index + 1}`;
  const { links } = entry;
  const thumbnail = links.thumbnail
    ? `<img src="${escapeMarkup(links.thumbnail)}" alt="${escapeMarkup(`${entry.status === 'error' ? 'input' : 'output'} of ${entry.input}, thumbnail`)}" loading="lazy" decoding="async">`
    : '<span>no preview</span>';
  const viewable = links.before !== undefined && links.after !== undefined;
  const data = [
    `data-name="${escapeMarkup(entry.input)}"`,
    viewable ? `data-before="${escapeMarkup(links.before!)}" data-after="${escapeMarkup(links.after!)}"` : '',
    entry.width ? `data-width="${entry.width}" data-height="${entry.height}"` : '',
    entry.outWidth ? `data-out-width="${entry.outWidth}" data-out-height="${entry.outHeight}"` : '',
  ].filter(Boolean).join(' ');
  const facts = [
    fact('input', size(entry.width, entry.height)),
    fact('output', size(entry.outWidth, entry.outHeight)),
    fact('model', entry.model),
    fact('scale', scaleText(scale)),
    fact('edits', edits),
    entry.status === 'skipped' ? '' : fact('time', duration(entry.ms)),
    entry.bytes === undefined ? '' : fact('size', bytes(entry.bytes)),
  ].join('');
  const fileLinks = [
    links.input ? `<a href="${escapeMarkup(links.input)}">input</a>` : '',
    links.output ? `<a href="${escapeMarkup(links.output)}">output</a>` : '',
  ].join('');
  return `<li class="entry ${entry.status}" id="${id}" ${data}>
<a class="thumb" href="#${id}" aria-label="${escapeMarkup(`${viewable ? 'Compare' : 'Show'} ${entry.input}`)}">${thumbnail}</a>
<span class="status">${escapeMarkup(STATUS_TEXT[entry.status])}</span>
<h2>${escapeMarkup(entry.input)}</h2>
${entry.error ? `<p class="message" role="note">${escapeMarkup(entry.error)}</p>` : ''}
<dl>${facts}</dl>
<p class="links">${fileLinks}</p>
</li>`;
}

export function reportPage({ entries, summary, edits, created }: ReportPageData): string {
  const line = [countsPhrase(summary), `${summary.model} ${scaleText(summary.scale)}`, summary.precision ? `${summary.device}, ${summary.precision}` : summary.device, duration(summary.ms), summary.interrupted ? 'interrupted' : '']
    .filter(Boolean)
    .join(' · ');
  const editText = edits.length ? edits.join(', ') : 'none';
  const viewer = `<section class="viewer" id="viewer" aria-labelledby="viewer-title">
<div class="bar">
<button type="button" id="previous" aria-label="Previous file">‹</button>
<h2 id="viewer-title">No file to compare</h2>
<button type="button" id="next" aria-label="Next file">›</button>
<label><input type="checkbox" id="nearest"> input as pixels (nearest neighbour)</label>
<label><input type="checkbox" id="loupe" checked> 1:1 zoom under the pointer</label>
</div>
<div class="stage" id="stage">
<img class="after" id="after" alt="">
<img class="before" id="before" alt="">
<div class="split" id="split" role="slider" tabindex="0" aria-label="Split between before (left) and after (right)"
  aria-valuemin="0" aria-valuemax="100" aria-valuenow="50" aria-valuetext="50% before"></div>
<span class="tag tag-before">before</span><span class="tag tag-after">after</span>
<div class="lens" id="lens" hidden><span></span></div>
</div>
<p class="hint">Drag across the picture, or focus the divider and use the arrow keys (Shift for larger steps), to move
the split. Both sides are shown at the same size.</p>
</section>`;
  return page(
    'report',
    'upscale report',
    `<header>
<h1>upscale report</h1>
<p class="summary">${escapeMarkup(line)}; edits: ${escapeMarkup(editText)}</p>
</header>
<main>
${viewer}
<ul class="grid" aria-label="Files">
${entries.map((entry, i) => entryHtml(entry, i, summary.scale, editText)).join('\n')}
</ul>
</main>`,
    created,
  );
}

export function comparePage({ image, crop, input, results, created }: ComparePageData): string {
  const region = crop ? `crop ${crop.left},${crop.top},${crop.width},${crop.height} of ${image}` : image;
  // The details under the view, so the views line up however long each one's details are.
  const panel = (name: string, view: string, details: string, attributes: string, extra = '') =>
    `<li class="panel${extra}" ${attributes}>
<h2>${escapeMarkup(name)}</h2>
${view}
<p>${details}</p>
</li>`;
  const view = (link: string, name: string, width: number, height: number) =>
    `<div class="view" tabindex="0" role="region" aria-label="${escapeMarkup(`${name}: drag or use the arrow keys to pan, + and - to zoom`)}">` +
    `<img src="${escapeMarkup(link)}" alt="${escapeMarkup(`${name}, ${width}×${height}`)}" width="${width}" height="${height}" draggable="false"></div>`;
  const panels = [
    panel(
      'input',
      view(input.link, 'input', input.width, input.height),
      escapeMarkup(size(input.width, input.height)),
      `data-model="input" data-width="${input.width}" data-height="${input.height}"`,
    ),
    ...results.map((result) =>
      result.link
        ? panel(
            result.precision ? `${result.model} (${result.precision})` : result.model,
            view(result.link, result.model, result.width!, result.height!),
            `${escapeMarkup(`${size(result.width, result.height)} · ${duration(result.ms!)} (${duration(result.totalMs!)} with model loading)`)} · ` +
              `<a href="${escapeMarkup(result.link)}">full image</a>`,
            `data-model="${escapeMarkup(result.model)}" data-width="${result.width}" data-height="${result.height}" data-ms="${result.ms}"`,
          )
        : panel(result.model, `<p class="message" role="note">${escapeMarkup(result.error ?? 'failed')}</p>`, 'failed', `data-model="${escapeMarkup(result.model)}"`, ' error'),
    ),
  ];
  return page(
    'compare',
    `upscale compare: ${image}`,
    `<header>
<h1>upscale compare</h1>
<p class="summary">${escapeMarkup(`${region}, ${size(input.width, input.height)}; ${results.length} model${results.length === 1 ? '' : 's'}`)}</p>
</header>
<main>
<div class="bar">
<button type="button" id="fit">Fit</button>
<button type="button" id="actual">1:1</button>
<button type="button" id="zoom-out" aria-label="Zoom out">−</button>
<button type="button" id="zoom-in" aria-label="Zoom in">+</button>
<output id="zoom-level" aria-live="polite"></output>
<label><input type="checkbox" id="nearest" checked> pixels (nearest neighbour)</label>
</div>
<ul class="panels nearest" id="panels" aria-label="Results">
${panels.join('\n')}
</ul>
<p class="hint">Every view shows the same region: drag, scroll or use the arrow keys in any of them to pan, the wheel or + and - to zoom, 0 to fit, 1 for one image pixel per screen pixel. Results are shown at the same size whatever their scale.</p>
</main>`,
    created,
  );
}
