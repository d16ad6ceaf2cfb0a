/**
 * The messages between worker.ts and its inference process (inference-child.cjs), typed once for both sides: the
 * parent sends requests, the child answers each with a reply of the same id (a run's pixels follow on their own pipe).
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { Image } from '../core/image.js';

/**
 * A further input of the network beside the image (the U-Nets' `pool<k>.*` inputs): its data as the typed array
 * onnxruntime takes for the type (Uint8Array for bool, BigInt64Array for int64).
 */
export interface Feed {
  name: string;
  type: 'bool' | 'float32' | 'int64';
  data: Uint8Array | Float32Array | BigInt64Array;
  dims: number[];
}

/** A request without its id, as the parent writes it; `pixels: false` runs the network for its other outputs alone. */
export type RequestBody =
  | { type: 'open'; path: string; options: InferenceSession.SessionOptions }
  | { type: 'run'; data: Float32Array; dims: number[]; depth: Image['depth']; feeds?: Feed[]; pixels?: boolean }
  | { type: 'release' };

export type Request = RequestBody & { id: number };

export interface Reply {
  id: number;
  error?: string;
  /** Of `open`: the session's inputs and outputs. */
  inputNames?: readonly string[];
  outputNames?: readonly string[];
  inputs?: readonly { isTensor: boolean; type?: string; shape?: readonly (number | string)[] }[];
  /** Of `run`: the output's shape. */
  dims?: readonly number[];
  /** Bytes of HWC pixels that follow this reply on the pixel pipe. */
  bytes?: number;
  /** A run's other outputs, by name (the U-Nets' per-channel sums: float32). */
  outputs?: Record<string, Float32Array>;
}
