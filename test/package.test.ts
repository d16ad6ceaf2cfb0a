/** The package as published: `npm pack` holds the built JavaScript and the models, and npx runs it in an empty folder. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixtures, scratch } from './helpers.js';

const root = join(fixtures, '..');

describe('npm pack', () => {
  it('npx --package ./<tarball> upscale photo.png works in an empty folder', { timeout: 240_000 }, async () => {
    const packed = scratch();
    // --ignore-scripts: dist/ is already built by `npm install`; packing must not rebuild it mid-test.
    const name = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packed], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
    const listing = execFileSync('tar', ['-tzf', join(packed, name)], { encoding: 'utf8' }).split('\n');
    expect(listing).toEqual(expect.arrayContaining(['package/bin/upscale.js', 'package/dist/index.js', 'package/dist/index.d.ts', 'package/models/manifest.json', 'package/models/realesr-general-x4v3.onnx', 'package/models/LICENSE']));
    expect(listing.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toBe(false);

    const empty = scratch();
    copyFileSync(join(fixtures, 'images', 'cat.png'), join(empty, 'photo.png'));
    // As the README says for offline machines: skip onnxruntime-node's CUDA download.
    const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_yes: 'true' };
    // (`npx ./file.tgz` alone would execute the tarball path itself as a command since npm 7.)
    const output = execFileSync('npx', ['--yes', '--package', join(packed, name), 'upscale', 'photo.png', '-m', 'realesr-animevideov3-x2'], {
      cwd: empty,
      env,
      encoding: 'utf8',
    });
    expect(output).toMatch(/photo\.png → .*photo-x2\.png \(48x40 → 96x80\)/);
    expect(readdirSync(empty).sort()).toEqual(['photo-x2.png', 'photo.png']);
    expect(await sharp(join(empty, 'photo-x2.png')).metadata()).toMatchObject({ width: 96, height: 80 });
  });
});
