/** The library without the CLI: upscaleImage on buffers, stable error codes, and messages naming options. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { InputError, upscale, upscaleImage, UsageError } from '../src/index.js';
import { cli, fixtures, pixels, psnr, scratch } from './helpers.js';

const cat = join(fixtures, 'images', 'cat.png');

describe('upscaleImage: one image in memory, into memory', () => {
  it('a PNG buffer in, the same pixels as the file path through upscale()', async () => {
    const { data, info } = await upscaleImage(readFileSync(cat), { model: 'bicubic', scale: 2 });
    expect(info).toMatchObject({ format: 'png', width: 48, height: 40, outWidth: 96, outHeight: 80, channels: 3, depth: 8, bytes: data.length, model: 'bicubic', scale: 2 });
    const file = join(scratch(), 'cat.png');
    await upscale(cat, { model: 'bicubic', scale: 2, output: file });
    expect(psnr(await pixels(data), await pixels(file))).toBe(Infinity);
  });

  it('a Uint8Array of a 16-bit PNG, a network, an edit and another format: 16-bit TIFF bytes', async () => {
    const bytes = new Uint8Array(readFileSync(join(fixtures, 'images', 'coffee-16bit.png')));
    const { data, info } = await upscaleImage(bytes, { model: 'realesr-animevideov3-x2', format: 'tiff', flop: true });
    expect(info).toMatchObject({ format: 'tiff', outWidth: 96, outHeight: 64, depth: 16 });
    expect(await sharp(data).metadata()).toMatchObject({ format: 'tiff', depth: 'ushort', width: 96, height: 64 });
    const file = join(scratch(), 'deep.tif');
    await upscale(join(fixtures, 'images', 'coffee-16bit.png'), { model: 'realesr-animevideov3-x2', flop: true, output: file });
    expect(psnr(await pixels(data, true), await pixels(file, true), 65535)).toBe(Infinity);
  });

  it('a bad buffer is thrown as an InputError with a stable code; an SVG buffer is refused by content', async () => {
    await expect(upscaleImage(Buffer.from('not an image'))).rejects.toMatchObject({ name: 'InputError', code: 'ERR_INPUT_FORMAT' });
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>');
    await expect(upscaleImage(svg, { model: 'nearest' })).rejects.toThrow('input: not a supported image (its content is svg)');
    await expect(upscaleImage(Buffer.alloc(0))).rejects.toBeInstanceOf(InputError);
  });
});

describe('errors name what the caller knows', () => {
  it('the library names the option, the CLI the flag', async () => {
    const thrown = await upscale(cat, { scale: 'abc' }).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(UsageError);
    expect(thrown).toMatchObject({ code: 'ERR_USAGE', message: 'Expected number between 1 and 16 for scale but received "abc"' });
    await expect(upscale(cat, { tileOverlap: -1 })).rejects.toThrow('for tileOverlap but received -1');
    await expect(upscale(cat, { fit: 'cover' })).rejects.toThrow('fit needs resize, width or height');
    expect((await cli(cat, '-s', 'abc')).stderr).toBe('upscale: Expected number between 1 and 16 for --scale but received "abc"\n');
    expect((await cli(cat, '--fit', 'cover')).stderr).toBe('upscale: --fit needs --resize, --width or --height\n');
  });

  it('every error in the JSON report carries a stable code', async () => {
    const root = scratch();
    const out = scratch();
    const { writeFileSync, copyFileSync } = await import('node:fs');
    writeFileSync(join(root, 'text.png'), 'not an image');
    writeFileSync(join(root, 'empty.png'), '');
    copyFileSync(cat, join(root, 'good.png'));
    writeFileSync(join(out, 'good.png'), 'already here');
    const run = await cli(root, '-o', out, '-m', 'nearest', '--json');
    const codes = Object.fromEntries(JSON.parse(run.stdout).files.map((f: { input: string; code?: string }) => [f.input.split('/').pop(), f.code]));
    expect(codes).toEqual({ 'empty.png': 'ERR_INPUT_EMPTY', 'good.png': 'ERR_OUTPUT_EXISTS', 'text.png': 'ERR_INPUT_FORMAT' });
  });

  it('a finished file reports its output size in bytes', async () => {
    const out = scratch();
    const report = await upscale(cat, { model: 'nearest', output: out });
    expect(report.files[0]!.bytes).toBe(readFileSync(join(out, 'cat.png')).length);
  });
});

describe('typed names', () => {
  it('src/models/model-names.ts is what the model build writes from the manifest', async () => {
    const { modelNamesSource, readManifest } = await import('../src/models/catalog.js');
    expect(readFileSync(join(fixtures, '..', 'src', 'models', 'model-names.ts'), 'utf8')).toBe(modelNamesSource(readManifest()));
  });

  it('a misspelt model or format does not compile; shipped names, baselines, .onnx paths and aliases do', () => {
    type Options = NonNullable<Parameters<typeof upscale>[1]>;
    for (const fine of [{ model: 'realesr-animevideov3' }, { model: 'bicubic' }, { model: './mine.onnx' }, { format: 'jpg' }, { format: 'tiff' }] as const) {
      expectTypeOf(fine).toMatchTypeOf<Options>();
    }
    expectTypeOf({ model: 'realesr-general-x4v4' } as const).not.toMatchTypeOf<Options>();
    expectTypeOf({ format: 'bmp' } as const).not.toMatchTypeOf<Options>();
  });
});
