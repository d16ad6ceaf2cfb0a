/** The package as published: `npm pack` holds the built JavaScript and the models, and npx runs it in an empty folder. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixtures, scratch } from './helpers.js';

const root = join(fixtures, '..');

const readme = () => readFileSync(join(root, 'README.md'), 'utf8');

/** The npx line of the README's First run, exactly as a user would copy it. */
function readmeNpxLine(): string {
  const line = readme().split('\n').find((l) => /^\S.*\bnpx --yes --package \.\/[\w.-]+\.tgz upscale photo\.jpg$/.test(l));
  if (!line) throw new Error('README.md has no npx line for the packed tarball');
  return line;
}

/** The README's "In CI" job: its `env` and its one `run:` line, as written. */
function readmeCiJob(): { env: Record<string, string>; run: string } {
  const text = readme();
  const section = text.slice(text.indexOf('### In CI'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
  const env = Object.fromEntries([...yaml.matchAll(/^ {2}(\w+): (\S+)/gm)].map((m) => [m[1]!, m[2]!]));
  const run = /^ {2}- run: (.+)$/m.exec(yaml)![1]!;
  return { env, run };
}

/** Packs the repository into `folder`: the tarball's name. */
function pack(folder: string): string {
  // --ignore-scripts: dist/ is already built by `npm install`; packing must not rebuild it mid-test.
  return execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', folder], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
}

// `npm test` exports this repository's .npmrc settings (npm_config_*) to its children, which would hide a README
// line that forgot ONNXRUNTIME_NODE_INSTALL: drop them, and any such variable the developer has set.
const userEnv = () => Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_|^ONNXRUNTIME_NODE_INSTALL$/i.test(key)));

describe('npm pack', () => {
  it("the README's npx line runs the packed tarball in an empty folder, with a user's environment", { timeout: 240_000 }, async () => {
    const packed = scratch();
    const name = pack(packed);
    // A scoped name: no one else's `upscale` on the registry can stand in for it.
    expect(name).toBe(`upscale-cli-upscale-${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}.tgz`);
    const listing = execFileSync('tar', ['-tzf', join(packed, name)], { encoding: 'utf8' }).split('\n');
    expect(listing).toEqual(expect.arrayContaining(['package/bin/upscale.js', 'package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/inference/inference-child.cjs', 'package/models/manifest.json', 'package/models/realesr-general-x4v3.onnx', 'package/models/LICENSE', 'package/web/page.js', 'package/web/page.css']));
    expect(listing.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toBe(false);

    const empty = scratch();
    copyFileSync(join(fixtures, 'images', 'cat-p3.jpg'), join(empty, 'photo.jpg'));
    copyFileSync(join(packed, name), join(empty, name));
    const env = userEnv();
    const line = readmeNpxLine();
    expect(line).toContain(`./${name}`);
    const output = execFileSync('sh', ['-c', `${line} -m realesr-animevideov3-x2`], { cwd: empty, env, encoding: 'utf8' });
    expect(output).toMatch(/photo\.jpg → photo-x2\.jpg \(48x40 → 96x80\)/);
    expect(readdirSync(empty).sort()).toEqual([name, 'photo-x2.jpg', 'photo.jpg'].sort());
    expect(await sharp(join(empty, 'photo-x2.jpg')).metadata()).toMatchObject({ width: 96, height: 80, format: 'jpeg' });
  });

  it("the README's CI job runs as written, with its env, in an empty folder holding the tarball and assets/", { timeout: 240_000 }, async () => {
    const folder = scratch();
    const name = pack(folder);
    mkdirSync(join(folder, 'assets'));
    copyFileSync(join(fixtures, 'images', 'cat.png'), join(folder, 'assets', 'cat.png'));
    const { env, run } = readmeCiJob();
    expect(run).toContain(`./${name}`);
    execFileSync('sh', ['-c', run], { cwd: folder, env: { ...userEnv(), ...env }, encoding: 'utf8' });
    const report = JSON.parse(readFileSync(join(folder, 'upscale-report.json'), 'utf8'));
    expect(report.summary).toMatchObject({ ok: 1, failed: 0, scale: 2 });
    expect(await sharp(join(folder, 'assets-x2', 'cat.png')).metadata()).toMatchObject({ width: 96, height: 80 });
    // The other recipes install the same tarball.
    for (const recipe of ['"--package", "./', '--package ./']) expect(readme()).toContain(`${recipe}${name}`);
    expect(readme()).not.toMatch(/npx --yes upscale|"npx", "--yes", "upscale"/);
  });
});
