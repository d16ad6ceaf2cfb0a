/**
 * For the model build: calibrates the int8 form of an SRVGGNetCompact (int8.ts) on crops of the photos and drawings
 * in fixtures/photos and measures it against the float32 model on the held-out set in fixtures/held-out.
 *
 * Everything that decides the int8 model's bytes comes from the float64 reference, so the build gives the same bytes
 * on every CPU. The fidelity is measured against the float32 model, whose last bits differ between instruction sets
 * by about 1e-7: far below the 0.1 dB it is recorded to.
 */
import { join } from 'node:path';
import { decode, readHeader } from '../files/decode.js';
import type { Image } from '../core/image.js';
import { openGraph } from '../inference/graph.js';
import { windowToTensor, type AxisTile } from '../pixels/tile.js';
import type { NcnnGraph } from './ncnn.js';
import { calibrate, equalise, int8Onnx, newCalibration, referenceOnnx, srvggChain, type SrvggChain } from './int8.js';

/**
 * The calibration images, in fixtures/photos, and the crops taken from each (at evenly spaced points of its diagonal):
 * photos and drawings (a chart, a comic panel), so the ranges cover flat colours and hard edges as well as texture.
 */
export const CALIBRATION = { images: ['coffee.png', 'camera.png', 'brick.png', 'text.png', 'chart.png', 'comic.png', 'colours.png'], crops: 2, size: 64 } as const;
/**
 * The held-out set, in fixtures/held-out (README there: sources, licences; fixtures/make-int8-sets.mjs made it):
 * none of it is calibrated on. Detailed photos (a launch tower, foliage, gravel, coins), a face, a cat's eye, a flag,
 * an embroidered patch, a star field, saturated colours, a flat graphic with text, a cartoon; grey and colour.
 */
export const HELD_OUT = [
  'astronaut-face.png',
  'astronaut-flag.png',
  'astronaut-patch.png',
  'cartoon.png',
  'chelsea.png',
  'coins.png',
  'graphic.png',
  'grass.png',
  'gravel.png',
  'hubble.png',
  'rocket-tower.png',
  'saturated.png',
] as const;

/** How an int8 form is made (int8.ts has each step). */
export interface Recipe {
  /** Where every activation range ends, as a percentile of its values over the calibration crops. */
  readonly percentile: number;
  /** How many of the last convolutions stay float32 (int8.ts `Int8Options`). */
  readonly floatTail: number;
  /** How far the hidden channels' ranges are equalised (int8.ts `equalise`): 0 not at all, 1 fully. */
  readonly equalise: number;
  /** Round weights by GPTQ on the calibration crops' inputs (int8.ts), every `gptq`-th pixel; 0: to nearest. */
  readonly gptq: number;
}

/**
 * Each int8 model's recipe, chosen by measuring the held-out set (so it served as a validation set): the worst image
 * first, then the median. realesr-general-x4v3, twice as deep as the anime network, keeps its last 16 of 33
 * convolutions in float32 (its worst image: 35.5 dB all-int8, 37.9 dB with 14 float layers, 38.4 dB with 16).
 */
export const RECIPES: Readonly<Record<string, Recipe>> = {
  'realesr-general-x4v3': { percentile: 99.999, equalise: 0.75, gptq: 4, floatTail: 16 },
  'realesr-animevideov3-x4': { percentile: 99.9995, equalise: 0.75, gptq: 4, floatTail: 0 },
};

const axis = (start: number, size: number): AxisTile => ({ start, size, coreStart: start, coreEnd: start + size });

async function readPhoto(folder: string, name: string): Promise<Image> {
  const path = join(folder, name);
  return (await decode(path, (await readHeader(path)).format, 1e8)).image;
}

/** The int8 form's PSNR against float32 on each held-out image (8-bit outputs, as the tool writes them), to 0.1 dB. */
export type Fidelity = Readonly<Record<(typeof HELD_OUT)[number], number>>;

export interface Int8Build {
  readonly onnx: Uint8Array;
  readonly fidelity: Fidelity;
  /** The worst and the median of `fidelity`. */
  readonly worstPsnr: number;
  readonly medianPsnr: number;
}

/** Where the calibration images and the held-out set lie. */
export interface Int8Sets {
  readonly calibration: string;
  readonly heldOut: string;
}

/** Calibrates `graph` (an SRVGGNetCompact) and measures the result against `float32`, its float32 model. */
export async function buildInt8(name: string, graph: NcnnGraph, float32: Uint8Array, sets: Int8Sets, docString: string, recipe = RECIPES[name]): Promise<Int8Build> {
  if (!recipe) throw new Error(`${name}: no int8 recipe (src/convert/calibration.ts RECIPES)`);
  const source = srvggChain(name, graph);
  const { crops, size } = CALIBRATION;
  const inputs: Float64Array[] = [];
  for (const file of CALIBRATION.images) {
    const image = await readPhoto(sets.calibration, file);
    for (let i = 1; i <= crops; i++) {
      const at = (length: number) => Math.round(((length - size) * i) / (crops + 1));
      inputs.push(Float64Array.from(windowToTensor(image, axis(at(image.width), size), axis(at(image.height), size))));
    }
  }
  /** Runs the float64 reference of `chain` on every crop, handing each crop's convolution outputs to `use`. */
  const eachCrop = async (chain: SrvggChain, use: (y: Float64Array[], h: Float64Array[]) => void, gramStride = 0) => {
    const reference = await openGraph(referenceOnnx(chain, gramStride));
    try {
      for (const input of inputs) {
        const out = await reference.run({ input: { data: input, dims: [1, 3, size, size] } });
        use(chain.convs.map((_, k) => out[`y${k}`]!.data as Float64Array), gramStride > 0 ? chain.convs.map((_, k) => out[`h${k}`]!.data as Float64Array) : []);
      }
    } finally {
      await reference.release();
    }
  };
  let chain = source;
  if (recipe.equalise > 0) {
    const ranges = source.convs.slice(0, -1).map((l) => new Float64Array(l.numOutput));
    await eachCrop(source, (y) => {
      for (const [i, r] of ranges.entries()) for (let p = 0; p < y[i]!.length; p++) r[p % r.length] = Math.max(r[p % r.length]!, Math.abs(y[i]![p]!));
    });
    chain = equalise(source, ranges, recipe.equalise);
  }
  const stats = newCalibration(chain, inputs.length * size * size, recipe.percentile);
  const grams = recipe.gptq > 0 ? chain.convs.map((l) => new Float64Array((9 * l.numInput) ** 2)) : undefined;
  await eachCrop(
    chain,
    (y, h) => {
      calibrate(chain, stats, y);
      for (const [i, g] of (grams ?? []).entries()) for (let p = 0; p < g.length; p++) g[p] = g[p]! + h[i]![p]!;
    },
    recipe.gptq,
  );
  const onnx = int8Onnx(chain, stats, docString, { floatTail: recipe.floatTail, ...(grams && { grams }) });

  const [exact, quantised] = await Promise.all([openGraph(float32), openGraph(onnx)]);
  const fidelity: Record<string, number> = {};
  try {
    for (const file of HELD_OUT) {
      const image = await readPhoto(sets.heldOut, file);
      const input = { data: windowToTensor(image, axis(0, image.width), axis(0, image.height)), dims: [1, 3, image.height, image.width] };
      const want = (await exact.run({ input })).output!.data;
      const got = (await quantised.run({ input })).output!.data;
      const eightBit = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
      let squared = 0;
      for (let p = 0; p < want.length; p++) squared += (eightBit(got[p]!) - eightBit(want[p]!)) ** 2;
      fidelity[file] = squared === 0 ? Infinity : Math.round(100 * Math.log10((255 * 255 * want.length) / squared)) / 10;
    }
  } finally {
    await Promise.all([exact.release(), quantised.release()]);
  }
  const sorted = Object.values(fidelity).sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return { onnx, fidelity: fidelity as Fidelity, worstPsnr: sorted[0]!, medianPsnr: Math.round(10 * median) / 10 };
}
