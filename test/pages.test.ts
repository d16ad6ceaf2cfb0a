/**
 * The pages: `--report` and `upscale compare` write them, and headless Chromium loads them from disk, as a user would
 * open them, to check the DOM, drag the slider, use the keyboard and the zoom, and take the screenshots the README
 * shows (written to docs/ when UPDATE_DOCS=1).
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { Browser, chromium, type Page } from './browser.js';
import { cli, fixtures, pixels, scratch, type CliRun } from './helpers.js';

const root = scratch();
const shots = process.env.UPDATE_DOCS ? join(fixtures, '..', 'docs') : root;
const model = 'realesr-animevideov3-x4';

/** Runs the CLI in `root`, so the pages show short relative names, as they would for a user. */
async function cliIn(...args: string[]): Promise<CliRun> {
  const before = process.cwd();
  process.chdir(root);
  try {
    return await cli(...args);
  } finally {
    process.chdir(before);
  }
}

let browser: Browser | undefined;
let missing: string | undefined;
let report: CliRun;
let comparison: CliRun;

beforeAll(async () => {
  mkdirSync(join(root, 'photos'));
  mkdirSync(join(root, 'upscaled'));
  copyFileSync(join(fixtures, 'golden', 'chelsea-96.png'), join(root, 'photos', 'chelsea.png'));
  copyFileSync(join(fixtures, 'golden', 'coffee-96.png'), join(root, 'photos', 'coffee.png'));
  // A name a URL must encode.
  copyFileSync(join(fixtures, 'images', 'cat.png'), join(root, 'photos', 'a cat #1.png'));
  // TIFF, which browsers cannot show: the page shows PNG copies.
  await sharp(join(fixtures, 'images', 'camera-grey.png')).tiff().toFile(join(root, 'photos', 'grey.tiff'));
  writeFileSync(join(root, 'photos', 'broken.png'), 'not an image');
  // Skipped: its output is there already.
  copyFileSync(join(fixtures, 'images', 'cat-alpha.png'), join(root, 'photos', 'cat-alpha.png'));
  copyFileSync(join(fixtures, 'images', 'cat-alpha.png'), join(root, 'upscaled', 'cat-alpha.png'));
  report = await cliIn('photos', '-o', 'upscaled', '-m', model, '--skip-existing', '--report', 'upscaled/report.html');
  comparison = await cliIn('compare', 'photos/chelsea.png', '-m', `nearest,bicubic,${model}`, '--crop', '0,28,48,48', '-o', 'compare.html');
  const found = chromium();
  if ('missing' in found) missing = found.missing;
  else browser = Browser.launch(found.path);
}, 600_000);

afterAll(async () => {
  await browser?.close();
});

/** The page in a fresh tab, or the test skipped, saying why there is no browser. */
async function open(context: TestContext, path: string, width: number, height: number, hash = ''): Promise<Page> {
  if (!browser) return context.skip(`no browser: ${missing}`);
  return browser.open(pathToFileURL(join(root, path)).href + hash, width, height);
}

/** Every image has alt text; every button, checkbox and slider has a name; sliders are in the tab order. */
const ACCESSIBILITY = `(() => {
  const problems = [];
  for (const img of document.images) if (!img.alt.trim()) problems.push('no alt: ' + img.src);
  for (const el of document.querySelectorAll('button')) if (!(el.textContent.trim() || el.getAttribute('aria-label'))) problems.push('unnamed button');
  for (const el of document.querySelectorAll('input')) if (!el.labels.length && !el.getAttribute('aria-label')) problems.push('unlabelled ' + el.id);
  for (const el of document.querySelectorAll('[role=slider]')) {
    if (el.tabIndex < 0 || !el.getAttribute('aria-label') || el.getAttribute('aria-valuenow') === null) problems.push('slider ' + el.id);
  }
  return problems;
})()`;

/** Waits until every image the page has asked for has loaded or failed. */
const IMAGES_SETTLED = `Promise.all([...document.images].filter((i) => i.getAttribute('src')).map((i) => i.complete ? 0 : new Promise((r) => { i.onload = i.onerror = r; })))`;

describe('--report', () => {
  it('writes the page, and says where', () => {
    expect(report.code).toBe(1);
    expect(report.stderr).toContain('photos/broken.png: not a supported image (unknown format)');
    expect(report.stderr.trim().split('\n').pop()).toBe('wrote upscaled/report.html');
    expect(readdirSync(join(root, 'upscaled', 'report_files')).sort()).toEqual(['0001.webp', '0003.webp', '0004.webp', '0005.webp', '0006-after.png', '0006-before.png', '0006.webp']);
  });

  it('folder walks leave the page files out: a rerun does not take thumbnails for photos', async () => {
    const run = await cliIn('upscaled', '-o', 'again', '-m', 'bicubic', '--dry-run', '--json');
    expect(JSON.parse(run.stdout).files.map((f: { input: string }) => f.input)).toEqual(['upscaled/a cat #1.png', 'upscaled/cat-alpha.png', 'upscaled/chelsea.png', 'upscaled/coffee.png', 'upscaled/grey.tiff']);
  });

  it('says the edits in the order they are applied', async () => {
    const out = scratch();
    const run = await cli(join(fixtures, 'images', 'cat.png'), '-o', join(out, 'cat.png'), '-m', 'nearest', '--sharpen', '--saturation', '1.2', '--flip', '--crop', '0,0,96,80', '--report', join(out, 'r.html'));
    expect(run.code).toBe(0);
    const html = readFileSync(join(out, 'r.html'), 'utf8');
    expect(html).toContain('<dt>edits</dt><dd>crop 0,0,96,80, flip, saturation 1.2, sharpen</dd>');
    expect(html).toContain('<dt>output</dt><dd>96×80</dd>');
  });

  it('one entry per file with its sizes, status and error; every image loads from disk', async (context) => {
    const page = await open(context, 'upscaled/report.html', 1200, 1600);
    await page.evaluate(IMAGES_SETTLED);
    const entries = await page.evaluate<{ name: string; status: string; facts: Record<string, string>; message?: string; thumbnail?: { loaded: boolean; lazy: boolean } }[]>(`
      [...document.querySelectorAll('.entry')].map((e) => {
        const img = e.querySelector('.thumb img');
        return {
          name: e.querySelector('h2').textContent,
          status: e.className.replace('entry ', '').replace(' current', ''),
          facts: Object.fromEntries([...e.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
          message: e.querySelector('.message')?.textContent,
          thumbnail: img ? { loaded: img.naturalWidth > 0, lazy: img.loading === 'lazy' } : undefined,
        };
      })`);
    expect(entries.map((e) => [e.name, e.status, e.facts.input, e.facts.output])).toEqual([
      ['photos/a cat #1.png', 'ok', '48×40', '192×160'],
      ['photos/broken.png', 'error', '–', '–'],
      ['photos/cat-alpha.png', 'skipped', '48×40', '48×40'],
      ['photos/chelsea.png', 'ok', '96×96', '384×384'],
      ['photos/coffee.png', 'ok', '96×96', '384×384'],
      ['photos/grey.tiff', 'ok', '40×32', '160×128'],
    ]);
    expect(entries[1]!.message).toBe(report.stderr.split('\n').find((line) => line.includes('broken.png')));
    expect(entries[1]!.thumbnail).toBeUndefined();
    for (const entry of entries.filter((e) => e.status !== 'error')) {
      expect(entry.thumbnail).toEqual({ loaded: true, lazy: true });
      expect(entry.facts).toMatchObject({ model, scale: '×4', edits: 'none' });
      expect(entry.facts.size).toMatch(/^[\d,]+ bytes$/);
    }
    // The real files, by relative path (the TIFF through its PNG copies).
    const viewer = await page.evaluate<string[][]>(`[...document.querySelectorAll('.entry[data-after]')].map((e) => [e.dataset.before, e.dataset.after])`);
    expect(viewer).toEqual([
      ['../photos/a%20cat%20%231.png', 'a%20cat%20%231.png'],
      ['../photos/cat-alpha.png', 'cat-alpha.png'],
      ['../photos/chelsea.png', 'chelsea.png'],
      ['../photos/coffee.png', 'coffee.png'],
      ['report_files/0006-before.png', 'report_files/0006-after.png'],
    ]);
    await page.evaluate(`location.hash = '#f6'`);
    await page.evaluate(IMAGES_SETTLED);
    expect(await page.evaluate(`[before.naturalWidth, after.naturalWidth, document.getElementById('viewer-title').textContent]`)).toEqual([40, 160, 'photos/grey.tiff']);
    expect(await page.evaluate(ACCESSIBILITY)).toEqual([]);
    // Light and dark follow the system.
    const colours = `[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]`;
    expect(await page.evaluate(colours)).toEqual(['rgb(247, 247, 248)', 'rgb(28, 28, 31)']);
    await page.scheme('dark');
    expect(await page.evaluate(colours)).toEqual(['rgb(20, 20, 22)', 'rgb(236, 236, 240)']);
  });

  it('the split follows a drag and the keyboard; the 1:1 zoom follows the pointer; the input can show its pixels', async (context) => {
    const page = await open(context, 'upscaled/report.html', 1200, 1100, '#f4');
    await page.evaluate(IMAGES_SETTLED);
    const box = await page.evaluate<{ x: number; y: number; width: number; height: number }>(`document.getElementById('stage').getBoundingClientRect().toJSON()`);
    const state = () => page.evaluate<{ clip: string; value: number; focused: string }>(`({ clip: getComputedStyle(before).clipPath, value: Number(split.getAttribute('aria-valuenow')), focused: document.activeElement.id })`);
    const start = await state();
    expect(start.value).toBe(50);

    await page.drag({ x: box.x + box.width * 0.5, y: box.y + box.height / 2 }, { x: box.x + box.width * 0.25, y: box.y + box.height / 2 });
    const dragged = await state();
    expect(dragged.value).toBeCloseTo(25, 0);
    expect(dragged.clip).not.toBe(start.clip);
    expect(dragged.focused).toBe('split');

    await page.press('ArrowRight', 39);
    expect((await state()).value).toBeCloseTo(dragged.value + 1, 5);
    await page.press('End', 35);
    expect(await state()).toMatchObject({ value: 100 });
    await page.press('Home', 36);
    expect(await state()).toMatchObject({ value: 0 });
    for (let i = 0; i < 5; i++) await page.press('PageUp', 33);
    expect(await state()).toMatchObject({ value: 50, clip: start.clip });

    // Over the after side: the lens shows the 384 px output at one pixel per pixel, centred on the pointer.
    const lens = () => page.evaluate<{ hidden: boolean; left: number; size: number[]; image: string; label: string }>(
      `({ hidden: lens.hidden, left: lens.offsetLeft + lens.offsetWidth / 2, size: lens.style.backgroundSize.split(' ').map(parseFloat), image: lens.style.backgroundImage, label: lens.textContent })`,
    );
    await page.mouse('mouseMoved', box.x + box.width * 0.7, box.y + box.height * 0.4);
    const after = await lens();
    expect(after).toMatchObject({ hidden: false, label: 'after, 1:1' });
    expect(Math.abs(after.left - box.width * 0.7)).toBeLessThanOrEqual(1);
    expect(after.size[0]).toBeCloseTo(384, 3);
    expect(after.image).toContain('chelsea.png');
    await page.mouse('mouseMoved', box.x + box.width * 0.2, box.y + box.height * 0.4);
    const before = await lens();
    expect(before).toMatchObject({ hidden: false, label: 'before, 1:1' });
    expect(before.size[0]).toBeCloseTo(384, 3);
    expect(before.image).toContain('photos/chelsea.png');

    expect(await page.evaluate(`getComputedStyle(before).imageRendering`)).toBe('auto');
    await page.evaluate(`document.getElementById('nearest').click()`);
    expect(await page.evaluate(`[getComputedStyle(before).imageRendering, getComputedStyle(after).imageRendering]`)).toEqual(['pixelated', 'auto']);

    // The README's picture: the whole page from the top, the lens over the after side.
    await page.evaluate(`document.activeElement.blur(), scrollTo(0, 0)`);
    const top = await page.evaluate<{ x: number; y: number; width: number; height: number }>(`stage.getBoundingClientRect().toJSON()`);
    await page.mouse('mouseMoved', top.x + top.width * 0.66, top.y + top.height * 0.55);
    await page.screenshot(join(shots, 'report.png'));
    expect(await sharp(join(shots, 'report.png')).metadata()).toMatchObject({ width: 1200, height: 1100 });
  });
});

describe('upscale compare', () => {
  it('runs every model on the crop and says how long each took', () => {
    expect(comparison.code).toBe(0);
    expect(comparison.stdout).toMatch(new RegExp(`^nearest: 192x192 in \\d+\\.\\d s \\(\\d+\\.\\d s with model loading\\)\\nbicubic: 192x192 in .*\\n${model} \\(fp32\\): 192x192 in .*\\n$`));
    expect(comparison.stderr.trim().split('\n').pop()).toBe('wrote compare.html');
    expect(readdirSync(join(root, 'compare_files')).sort()).toEqual(['01-nearest.png', '02-bicubic.png', `03-${model}.png`, 'input.png']);
  });

  it('--precision, --noise and --tta reach every model they apply to, and each result says its precision', async () => {
    const cat = join(fixtures, 'images', 'cat.png');
    const int8 = await cliIn('compare', cat, '-m', 'realesr-animevideov3-x2', '--precision', 'int8', '-o', 'int8.html');
    expect(int8.code, int8.stderr).toBe(0);
    expect(int8.stdout).toMatch(/^realesr-animevideov3-x2 \(int8\): 96x80 in /);
    expect(readFileSync(join(root, 'int8.html'), 'utf8')).toContain('realesr-animevideov3-x2 (int8)');
    // The same run through the batch, as the reference for each flag.
    const same = async (flags: string[], model: string) => {
      await cliIn('compare', cat, '-m', model, ...flags, '-o', 'flags.html');
      await cliIn(cat, '-m', model, ...flags, '-o', join(root, 'batch.png'), '--overwrite');
      return (await pixels(join(root, 'flags_files', `01-${model}.png`))).data.equals((await pixels(join(root, 'batch.png'))).data);
    };
    expect(await same(['--noise', '3', '-s', '2'], 'realcugan')).toBe(true);
    expect(await same(['--tta', '-s', '2'], 'realesr-animevideov3')).toBe(true);
    const bad = await cliIn('compare', cat, '--precision', 'int4', '-o', 'bad.html');
    expect([bad.code, bad.stderr]).toEqual([2, 'upscale: Expected one of fp32, int8, auto for --precision but received "int4"\n']);
  });

  it('the crop is the input pixels asked for, and nearest at x4 repeats each of them', async () => {
    const crop = await sharp(join(root, 'photos', 'chelsea.png')).extract({ left: 0, top: 28, width: 48, height: 48 }).raw().toBuffer();
    expect(await sharp(join(root, 'compare_files', 'input.png')).raw().toBuffer()).toEqual(crop);
    const nearest = await sharp(join(root, 'compare_files', '01-nearest.png')).resize(48, 48, { kernel: 'nearest' }).raw().toBuffer();
    expect(nearest).toEqual(crop);
  });

  it('one panel per model with its size and time; panning or zooming one view moves them all', async (context) => {
    const page = await open(context, 'compare.html', 1200, 700);
    await page.evaluate(IMAGES_SETTLED);
    const panels = await page.evaluate<{ model: string; width: string; time: string }[]>(
      `[...document.querySelectorAll('.panel')].map((p) => ({ model: p.dataset.model, width: p.dataset.width, time: p.querySelector('p').textContent }))`,
    );
    expect(panels.map((p) => [p.model, p.width])).toEqual([['input', '48'], ['nearest', '192'], ['bicubic', '192'], [model, '192']]);
    for (const panel of panels.slice(1)) expect(panel.time).toMatch(/^192×192 · \d+ m?s \(\d+(\.\d)? m?s with model loading\) · full image$/);
    const views = () => page.evaluate<{ transform: string; width: string }[]>(`[...document.querySelectorAll('.view img')].map((i) => ({ transform: i.style.transform, width: i.style.width }))`);
    const same = (list: { transform: string; width: string }[]) => new Set(list.map((v) => `${v.transform} ${v.width}`)).size === 1;
    const fitted = await views();
    expect(same(fitted)).toBe(true);

    const box = await page.evaluate<{ x: number; y: number; width: number; height: number }>(`document.querySelectorAll('.view')[2].getBoundingClientRect().toJSON()`);
    await page.evaluate(`document.querySelectorAll('.view')[2].focus()`);
    for (let i = 0; i < 2; i++) await page.press('+', 187, '+');
    const zoomed = await views();
    expect(same(zoomed)).toBe(true);
    expect(parseFloat(zoomed[0]!.width)).toBeCloseTo(parseFloat(fitted[0]!.width) * 1.25 ** 2, 1);
    await page.drag({ x: box.x + box.width / 2, y: box.y + box.height / 2 }, { x: box.x + box.width / 2 + 30, y: box.y + box.height / 2 - 20 });
    const panned = await views();
    expect(same(panned)).toBe(true);
    expect(panned[0]!.transform).not.toBe(zoomed[0]!.transform);
    expect(await page.evaluate(ACCESSIBILITY)).toEqual([]);
    await page.evaluate(`document.activeElement.blur()`);
    await page.screenshot(join(shots, 'compare.png'));
  });
});

describe('usage errors: exit 2, one line, nothing run', () => {
  const cat = join(fixtures, 'images', 'cat.png');
  it.each([
    [[cat, '--report', 'out.png'], 'upscale: Expected a file name ending in .html for --report but received "out.png"'],
    [[cat, '--dry-run', '--report', 'r.html'], 'upscale: --dry-run and --report cannot be used together'],
    [[cat, '--report', `${cat}/r.html`], `upscale: --report ${cat}/r.html: cannot write the page (a parent of the path is a file, not a folder); choose a folder that exists and is writable`],
    [['compare', cat, '-m', 'bicubic'], 'upscale: upscale compare needs -o <file.html>'],
    [['compare', cat, '-m', 'bicubic,sharpest', '-o', 'c.html'], expect.stringMatching(/^upscale: Unknown model "sharpest" for --model: expected one of /)],
    [['compare', cat, '-m', 'bicubic', '--crop', '40,0,16,16', '-o', 'c.html'], `upscale: ${cat}: --crop 40,0,16,16 lies outside the 48x40 image (compare crops in input pixels)`],
  ])('%j', async (args, message) => {
    const folder = scratch();
    const before = process.cwd();
    process.chdir(folder);
    try {
      const run = await cli(...(args as string[]));
      expect(run.code).toBe(2);
      expect(run.stderr.trim()).toEqual(message);
    } finally {
      process.chdir(before);
    }
    expect(readdirSync(folder)).toEqual([]);
  });
});
