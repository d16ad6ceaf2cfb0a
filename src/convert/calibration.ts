/**
 * For the model build: calibrates the int8 form of an SRVGGNetCompact (int8.ts) on photos shipped in fixtures/photos
 * and measures it against the float32 model on photos kept out of the calibration.
 *
 * Everything that decides the int8 model's bytes comes from the float64 reference, so the build gives the same bytes
 * on every CPU. The fidelity is measured against the float32 model, whose last bits differ between instruction sets
 * by about 1e-7: far below the 0.1 dB it is recorded to.
 */
import { join } from 'node:path';
import { decode, readHeader } from '../decode.js';
import type { Image } from '../image.js';
import { openGraph } from '../inference.js';
import { windowToTensor, type AxisTile } from '../tile.js';
import type { NcnnGraph } from './ncnn.js';
import { calibrate, int8Onnx, newCalibration, referenceOnnx, srvggChain } from './int8.js';

/** Calibration photos, in fixtures/photos, and the crops taken from each (at evenly spaced points of its diagonal). */
export const CALIBRATION = { photos: ['coffee.png', 'camera.png', 'brick.png', 'text.png'], crops: 2, size: 64 } as const;
/** The photos the fidelity is measured on, whole: none of them is in the calibration. */
export const HELD_OUT = ['chelsea.png'] as const;

/**
 * Where every activation range ends, as a percentile of its values. Chosen on the calibration photos, whole, against
 * float32 (realesr-general-x4v3: 38.8 dB on average, 38.6 at 99.99 and 38.3 at 99.999; the held-out photo was not
 * looked at). Bias correction (removing the mean error of the rounded weights) did not help in trials: there is none.
 */
export const PERCENTILE = 99.995;

const axis = (start: number, size: number): AxisTile => ({ start, size, coreStart: start, coreEnd: start + size });

async function readPhoto(photos: string, name: string): Promise<Image> {
  const path = join(photos, name);
  return (await decode(path, (await readHeader(path)).format, 1e8)).image;
}

export interface Int8Build {
  readonly onnx: Uint8Array;
  /** PSNR of the int8 output against the float32 model's over all held-out photos, in dB, to 0.1. */
  readonly heldOutPsnr: number;
}

/** Calibrates `graph` (an SRVGGNetCompact) and measures the result against `float32`, its float32 model. */
export async function buildInt8(name: string, graph: NcnnGraph, float32: Uint8Array, photos: string, docString: string): Promise<Int8Build> {
  const chain = srvggChain(name, graph);
  const { crops, size } = CALIBRATION;
  const stats = newCalibration(chain, CALIBRATION.photos.length * crops * size * size, PERCENTILE);
  const reference = await openGraph(referenceOnnx(chain));
  try {
    for (const photo of CALIBRATION.photos) {
      const image = await readPhoto(photos, photo);
      for (let i = 1; i <= crops; i++) {
        const at = (length: number) => Math.round(((length - size) * i) / (crops + 1));
        const input = Float64Array.from(windowToTensor(image, axis(at(image.width), size), axis(at(image.height), size)));
        const out = await reference.run({ input: { data: input, dims: [1, 3, size, size] } });
        calibrate(chain, stats, chain.convs.map((_, k) => out[`y${k}`]!.data as Float64Array));
      }
    }
  } finally {
    await reference.release();
  }
  const onnx = int8Onnx(chain, stats, docString);

  const [exact, quantised] = await Promise.all([openGraph(float32), openGraph(onnx)]);
  let squared = 0;
  let count = 0;
  try {
    for (const photo of HELD_OUT) {
      const image = await readPhoto(photos, photo);
      const input = { data: windowToTensor(image, axis(0, image.width), axis(0, image.height)), dims: [1, 3, image.height, image.width] };
      const want = (await exact.run({ input })).output!.data;
      const got = (await quantised.run({ input })).output!.data;
      const clamp = (v: number) => Math.min(1, Math.max(0, v));
      for (let p = 0; p < want.length; p++) squared += (clamp(got[p]!) - clamp(want[p]!)) ** 2;
      count += want.length;
    }
  } finally {
    await Promise.all([exact.release(), quantised.release()]);
  }
  return { onnx, heldOutPsnr: Math.round(-100 * Math.log10(squared / count)) / 10 };
}
