/** The package as published: `npm pack` holds the built JavaScript and the models, and npx runs it in an empty folder. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixtures, scratch } from './helpers.js';

const root = join(fixtures, '..');

/** The npx line of the README's First run, exactly as a user would copy it. */
function readmeNpxLine(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => /^\S.*\bnpx --yes --package \.\/upscale-[\d.]+\.tgz upscale photo\.jpg$/.test(l));
  if (!line) throw new Error('README.md has no npx line for the packed tarball');
  return line;
}

describe('npm pack', () => {
  it("the README's npx line runs the packed tarball in an empty folder, with a user's environment", { timeout: 240_000 }, async () => {
    const packed = scratch();
    // --ignore-scripts: dist/ is already built by `npm install`; packing must not rebuild it mid-test.
    const name = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packed], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
    const listing = execFileSync('tar', ['-tzf', join(packed, name)], { encoding: 'utf8' }).split('\n');
    expect(listing).toEqual(expect.arrayContaining(['package/bin/upscale.js', 'package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/inference/inference-child.cjs', 'package/models/manifest.json', 'package/models/realesr-general-x4v3.onnx', 'package/models/LICENSE', 'package/web/page.js', 'package/web/page.css']));
    expect(listing.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toBe(false);

    const empty = scratch();
    copyFileSync(join(fixtures, 'images', 'cat-p3.jpg'), join(empty, 'photo.jpg'));
    copyFileSync(join(packed, name), join(empty, name));
    // `npm test` exports this repository's .npmrc settings (npm_config_*) to its children, which would hide a README
    // line that forgot ONNXRUNTIME_NODE_INSTALL: drop them, and any such variable the developer has set.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_|^ONNXRUNTIME_NODE_INSTALL$/i.test(key)));
    const line = readmeNpxLine();
    expect(line).toContain(`./${name}`);
    const output = execFileSync('sh', ['-c', `${line} -m realesr-animevideov3-x2`], { cwd: empty, env, encoding: 'utf8' });
    expect(output).toMatch(/photo\.jpg → photo-x2\.jpg \(48x40 → 96x80\)/);
    expect(readdirSync(empty).sort()).toEqual([name, 'photo-x2.jpg', 'photo.jpg'].sort());
    expect(await sharp(join(empty, 'photo-x2.jpg')).metadata()).toMatchObject({ width: 96, height: 80, format: 'jpeg' });
  });
});
