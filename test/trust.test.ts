/**
 * The trust boundary: a file's format is decided by its content, documents are never rendered, odd inputs fail
 * alone with their real cause, and every message stays one line.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { upscale } from '../src/index.js';
import { sniff } from '../src/core/formats.js';
import { cli, fixtures, pixels, scratch } from './helpers.js';

const cat = join(fixtures, 'images', 'cat.png');
const catJpeg = join(fixtures, 'images', 'cat-p3.jpg');
const supported = 'supported: jpeg, png, webp, avif, tiff, gif; videos: mp4, m4v, mov, mkv, webm, avi';

describe('format by content, never by name', () => {
  const root = scratch();
  // A bright secret beside the upload: an SVG that links it would draw it into the output if it were rendered.
  const secret = join(root, 'secret.png');
  const hostile: Record<string, string | Buffer> = {
    'href.png': `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="48" height="40"><image href="secret.png" xlink:href="secret.png" width="48" height="40"/></svg>`,
    'entities.jpg': `<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY file SYSTEM "file:///etc/passwd">]>\n<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><text>&b;&file;</text></svg>`,
    'document.tif': '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
    'bitmap.webp': Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]),
  };

  it('SVG (with an external href or XML entities), PDF and BMP are refused with one line naming what they are', async () => {
    await sharp({ create: { width: 48, height: 40, channels: 3, background: '#ffffff' } }).png().toFile(secret);
    const input = join(root, 'uploads');
    mkdirSync(input);
    for (const [name, bytes] of Object.entries(hostile)) writeFileSync(join(input, name), bytes);
    const out = scratch();
    const run = await cli(input, '-o', out, '-m', 'nearest', '--json');
    expect(run.code).toBe(1);
    const errors = Object.fromEntries(JSON.parse(run.stdout).files.map((f: { input: string; error: string }) => [f.input.split('/').pop(), f.error]));
    expect(errors).toEqual({
      'bitmap.webp': `${join(input, 'bitmap.webp')}: not a supported image (its content is bmp); ${supported}`,
      'document.tif': `${join(input, 'document.tif')}: not a supported image (its content is pdf); ${supported}`,
      'entities.jpg': `${join(input, 'entities.jpg')}: not a supported image (its content is svg); ${supported}`,
      'href.png': `${join(input, 'href.png')}: not a supported image (its content is svg); ${supported}`,
    });
    expect(readdirSync(out)).toEqual([]);
  });

  it('the library refuses the same file the same way', async () => {
    const file = join(scratch(), 'upload.png');
    writeFileSync(file, hostile['href.png']!);
    const report = await upscale(file, { model: 'nearest', output: join(scratch(), 'out.png') });
    expect(report.files[0]).toMatchObject({ status: 'error', error: `${file}: not a supported image (its content is svg); ${supported}` });
  });

  it('an image whose name and content disagree is read as what it is', async () => {
    const folder = scratch();
    const misnamed = join(folder, 'photo.png');
    copyFileSync(catJpeg, misnamed);
    const out = join(scratch(), 'photo.png');
    const run = await cli(misnamed, '-o', out, '-m', 'nearest', '-s', '1');
    expect(run.code).toBe(0);
    expect((await sharp(out).metadata()).format).toBe('png');
    expect((await pixels(out)).data.equals((await pixels(catJpeg)).data)).toBe(true);
  });

  it.each([
    ['jpeg', [0xff, 0xd8, 0xff, 0xe0], 'jpeg'],
    ['png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'png'],
    ['gif', [...Buffer.from('GIF89a')], 'gif'],
    ['webp', [...Buffer.from('RIFF\0\0\0\0WEBPVP8 ')], 'webp'],
    ['tiff (II)', [...Buffer.from('II*\0')], 'tiff'],
    ['tiff (MM)', [...Buffer.from('MM\0*')], 'tiff'],
    ['avif', [0, 0, 0, 0x1c, ...Buffer.from('ftypavif\0\0\0\0avifmif1miaf')], 'avif'],
    ['heic', [0, 0, 0, 0x18, ...Buffer.from('ftypheic\0\0\0\0mif1heic')], undefined],
    ['svg after a BOM and blank lines', [0xef, 0xbb, 0xbf, ...Buffer.from('\n\n<svg width="1">')], undefined],
    ['text', [...Buffer.from('hello')], undefined],
  ])('sniff: %s', (_name, bytes, format) => {
    expect(sniff(Uint8Array.from(bytes)).format).toBe(format);
  });
});

describe('odd inputs named explicitly fail alone, with their real cause, and are never read', () => {
  it('a FIFO, a link to /dev/zero, a folder named x.png, an empty folder and a broken link: exit 1, the good file done', async () => {
    const root = scratch();
    const fifo = join(root, 'pipe.png');
    execFileSync('mkfifo', [fifo]);
    const zero = join(root, 'zero.png');
    symlinkSync('/dev/zero', zero);
    const folder = join(root, 'x.png');
    mkdirSync(folder);
    const dangling = join(root, 'dangling.png');
    symlinkSync(join(root, 'nowhere.png'), dangling);
    const good = join(root, 'good.png');
    copyFileSync(cat, good);
    const out = scratch();
    // Reading the FIFO would block forever (nothing writes to it): the test's own timeout catches that.
    const run = await cli(fifo, zero, folder, dangling, good, '-o', out, '-m', 'nearest', '--json');
    expect(run.code).toBe(1);
    const errors = Object.fromEntries(JSON.parse(run.stdout).files.map((f: { input: string; error?: string; status: string }) => [f.input, f.error ?? f.status]));
    expect(errors).toEqual({
      [fifo]: `${fifo}: not a regular file (a FIFO); name an image file or a folder`,
      [zero]: `${zero}: not a regular file (a character device); name an image file or a folder`,
      [folder]: `${folder}: folder holds no image files (${supported})`,
      [dangling]: `${dangling}: broken link (its target ${join(root, 'nowhere.png')} does not exist)`,
      [good]: 'ok',
    });
    expect(readdirSync(out)).toEqual(['good.png']);
  });

  it('only a path that does not exist (or a glob matching nothing) is a usage error', async () => {
    const root = scratch();
    const missing = await cli(join(root, 'missing.png'), cat, '-o', scratch(), '-m', 'nearest');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`upscale: ${join(root, 'missing.png')}: no such file or directory\n`);
    const glob = await cli(join(root, '*.png'), '-o', scratch(), '-m', 'nearest');
    expect(glob.code).toBe(2);
    expect(glob.stderr).toBe(`upscale: ${join(root, '*.png')}: matched no image files (${supported})\n`);
  });
});

describe('messages stay one line and name the real cause', () => {
  it('a file name with a newline and an escape character is shown escaped', async () => {
    const root = scratch();
    const name = 'bad\nname\u001b[31m.png';
    writeFileSync(join(root, name), 'not an image');
    const run = await cli(join(root, name), '-o', scratch(), '-m', 'nearest');
    expect(run.code).toBe(1);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`${root}/bad\\nname\\u001b[31m.png: not a supported image (unknown format); ${supported}`);
    expect(lines).toHaveLength(2); // the error, then the summary
  });

  it('an invalid flag value with a newline is shown escaped', async () => {
    const run = await cli(cat, '--tile', '1\n2');
    expect(run.stderr).toBe('upscale: Expected integer between 16 and 4096 for --tile but received "1\\n2"\n');
  });

  it.runIf(process.getuid?.() === 0)('an output folder below a read-only file system says read-only (needs root to mount one)', async () => {
    const mountPoint = scratch();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=16k', 'tmpfs', mountPoint]);
    try {
      const target = join(mountPoint, 'sub', 'deeper', 'cat.png');
      const run = await cli(cat, '-o', target, '-m', 'nearest');
      expect(run.code).toBe(1);
      expect(run.stderr.split('\n')[0]).toBe(`${cat}: cannot write ${target} (read-only file system); check the folder exists and is writable, and that the disk has space`);
      expect(existsSync(join(mountPoint, 'sub'))).toBe(false);
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });

  it('the input file is never modified by a refusal', async () => {
    const file = join(scratch(), 'upload.png');
    writeFileSync(file, '<svg xmlns="http://www.w3.org/2000/svg"/>');
    const before = readFileSync(file);
    await cli(file, '-o', scratch(), '-m', 'nearest');
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});

describe('reruns in place and -o mistakes', () => {
  it('a second run in place skips its own earlier outputs and, with --skip-existing, resumes', async () => {
    const root = scratch();
    for (const name of ['a.png', 'b.png', 'c.png']) copyFileSync(cat, join(root, name));
    // An interrupted first run: a's output was written, b's and c's were not.
    expect((await cli(join(root, 'a.png'), '-m', 'nearest', '-s', '2')).code).toBe(0);
    // A file named like an output whose input is absent is an ordinary input.
    copyFileSync(cat, join(root, 'lonely-x2.png'));
    const resumed = await cli(root, '-m', 'nearest', '-s', '2', '--skip-existing', '--json');
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout);
    expect(report.files.map((f: { input: string; status: string }) => [f.input.split('/').pop(), f.status])).toEqual([
      ['a.png', 'skipped'],
      ['b.png', 'ok'],
      ['c.png', 'ok'],
      ['lonely-x2.png', 'ok'],
    ]);
    expect(report.summary.earlierOutputs).toBe(1);
    const again = await cli(root, '-m', 'nearest', '-s', '2', '--skip-existing');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('4 files named like an earlier output beside their input not taken as input');
    expect(readdirSync(root).sort()).toEqual(['a-x2.png', 'a.png', 'b-x2.png', 'b.png', 'c-x2.png', 'c.png', 'lonely-x2-x2.png', 'lonely-x2.png']);
  });

  it('only a file that is exactly what this run writes beside an input is left out, and each one is named', async () => {
    const root = scratch();
    copyFileSync(cat, join(root, 'logo.png'));
    // Named like an output of logo.png, but not this run's (×4, png): a real input.
    copyFileSync(catJpeg, join(root, 'logo-x2.jpg'));
    copyFileSync(cat, join(root, 'logo-x4.png'));
    const run = await cli(root, '-m', 'nearest', '--dry-run', '--skip-existing', '--json');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.files.map((f: { input: string; status: string }) => [f.input.split('/').pop(), f.status])).toEqual([
      ['logo-x2.jpg', 'planned'],
      ['logo.png', 'skipped'],
    ]);
    expect(report.summary.earlierOutputs).toBe(1);
    expect(run.stderr).toContain(`${join(root, 'logo-x4.png')}: left out, as it is exactly what this run writes for ${join(root, 'logo.png')} (an earlier run's output); rename it to upscale it\n`);
    // At ×2 it is logo-x2 that would be written (as .png): logo-x2.jpg is still an input, logo-x4.png now one too.
    const twice = JSON.parse((await cli(root, '-m', 'nearest', '-s', '2', '--dry-run', '--json')).stdout);
    expect(twice.summary.earlierOutputs).toBe(0);
    expect(twice.files).toHaveLength(3);
  });

  it('-o with an image extension the tool does not write is an error listing the writable ones; no folder is made', async () => {
    const folder = scratch();
    const run = await cli(cat, '-o', join(folder, 'x.bmp'), '-m', 'nearest');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`upscale: --output ${join(folder, 'x.bmp')}: bmp is not a format this tool writes; name a .png, .jpg, .webp, .avif, .tif, .gif, .mp4, .mov, .mkv, .webm, .avi file, or a folder\n`);
    expect(readdirSync(folder)).toEqual([]);
  });

  it('-o inside an input folder reached through a link is not walked on the next run', async () => {
    const root = scratch();
    mkdirSync(join(root, 'photos'));
    copyFileSync(cat, join(root, 'photos', 'cat.png'));
    symlinkSync(join(root, 'photos'), join(root, 'link'));
    const args = [join(root, 'link'), '-o', join(root, 'photos', 'out'), '-m', 'nearest', '-s', '2', '--json'];
    expect((await cli(...args)).code).toBe(0);
    const again = await cli(...args, '--skip-existing');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).files.map((f: { input: string; status: string }) => [f.input, f.status])).toEqual([[join(root, 'link', 'cat.png'), 'skipped']]);
  });

  it('-o equal to an input folder says exactly that', async () => {
    const root = scratch();
    copyFileSync(cat, join(root, 'cat.png'));
    const run = await cli(root, '-o', root, '-m', 'nearest');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`upscale: --output ${root} is an input folder itself: outputs would land among their inputs under the same names; choose another folder (inputs are never modified)\n`);
  });

  it('messages about an output name the input it belongs to', async () => {
    const out = scratch();
    const target = join(out, 'cat.png');
    writeFileSync(target, 'keep me');
    const run = await cli(cat, '-o', target, '-m', 'nearest');
    expect(run.stderr.split('\n')[0]).toBe(`${cat}: output ${target} already exists; pass --overwrite to replace it or --skip-existing to keep it`);
  });
});

describe('--name', () => {
  it('names outputs by a template, beside the input or below -o, and a rerun in place leaves them out', async () => {
    const root = scratch();
    mkdirSync(join(root, 'sub'));
    copyFileSync(cat, join(root, 'cat.png'));
    copyFileSync(catJpeg, join(root, 'sub', 'photo.jpg'));
    const beside = await cli(root, '-m', 'nearest', '-s', '2', '--name', '{stem}@{scale}x.{ext}');
    expect(beside.code).toBe(0);
    expect(existsSync(join(root, 'cat@2x.png')) && existsSync(join(root, 'sub', 'photo@2x.jpg'))).toBe(true);
    const again = await cli(root, '-m', 'nearest', '-s', '2', '--name', '{stem}@{scale}x.{ext}', '--skip-existing', '--json');
    expect(JSON.parse(again.stdout).summary).toMatchObject({ skipped: 2, ok: 0, earlierOutputs: 2 });
    const out = scratch();
    const folder = await cli(join(root, 'cat.png'), join(root, 'sub', 'photo.jpg'), '-o', out, '-m', 'nearest', '-s', '1.5', '--name', '{model}/{stem}-{scale}.{ext}', '-f', 'webp');
    expect(folder.code).toBe(0);
    expect(readdirSync(join(out, 'nearest')).sort()).toEqual(['cat-1.5.webp', 'photo-1.5.webp']);
    expect(await sharp(join(out, 'nearest', 'cat-1.5.webp')).metadata()).toMatchObject({ format: 'webp', width: 72, height: 60 });
  });

  it('a template that makes two outputs the same is refused per file; an unknown field is a usage error', async () => {
    const root = scratch();
    copyFileSync(cat, join(root, 'a.png'));
    copyFileSync(cat, join(root, 'b.png'));
    const out = scratch();
    const run = await cli(root, '-o', out, '-m', 'nearest', '--name', 'same.{ext}', '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).files.map((f: { code: string }) => f.code)).toEqual(['ERR_OUTPUT_COLLISION', 'ERR_OUTPUT_COLLISION']);
    const bad = await cli(root, '-o', out, '-m', 'nearest', '--name', '{stem}{size}.png');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('upscale: Expected a name template using {stem}, {ext}, {model}, {scale}, {dir} for --name but received "{stem}{size}.png"\n');
  });
});

describe('animated PNG', () => {
  /** A PNG chunk with its CRC. */
  function chunk(type: string, data: Buffer): Buffer {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    let crc = ~0;
    for (const byte of body) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
    }
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(~crc >>> 0);
    return Buffer.concat([length, body, sum]);
  }

  it('an APNG (acTL before the image data, here after a large text chunk) is refused, never cut to its first frame', async () => {
    const png = readFileSync(cat);
    // Signature and IHDR, then a text chunk larger than the sniffed lead, then acTL, then the rest.
    const head = png.subarray(0, 33);
    const animated = Buffer.concat([head, chunk('tEXt', Buffer.from(`Comment\0${'x'.repeat(3000)}`)), chunk('acTL', Buffer.from([0, 0, 0, 2, 0, 0, 0, 0])), png.subarray(33)]);
    const root = scratch();
    writeFileSync(join(root, 'spin.png'), animated);
    const run = await cli(join(root, 'spin.png'), '-o', scratch(), '-m', 'nearest', '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).files[0]).toMatchObject({
      code: 'ERR_INPUT_APNG',
      error: `${join(root, 'spin.png')}: is an animated PNG (APNG), whose frames the decoder cannot read (the output would hold only the first): convert it to an animated WebP or GIF first`,
    });
    await expect(upscale(cat, { model: 'nearest', output: join(scratch(), 'still.png') })).resolves.toMatchObject({ summary: { ok: 1 } });
    const { upscaleImage } = await import('../src/index.js');
    await expect(upscaleImage(animated, { model: 'nearest' })).rejects.toMatchObject({ code: 'ERR_INPUT_APNG' });
  });
});
