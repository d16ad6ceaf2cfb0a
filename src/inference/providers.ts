/**
 * Devices and precisions: each device's onnxruntime execution provider and how to tell that it can run here, what
 * `auto` tries, the session options, the devices onnxruntime offers, and which precision runs on the CPU.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type { InferenceSession } from 'onnxruntime-node';
import { messages } from '../core/messages.js';
import type { NetworkModel } from '../models/catalog.js';

const require = createRequire(import.meta.url);

/** CUDA's provider libraries are not in the npm package; they exist only after the opt-in install. */
function cudaInstalled(): boolean {
  const binding = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(binding, 'libonnxruntime_providers_cuda.so')) || existsSync(join(binding, 'onnxruntime_providers_cuda.dll'));
}

interface Provider {
  /** onnxruntime's name for the execution provider. */
  readonly name: string;
  /** The device in a sentence. */
  readonly label: string;
  /** Whether its provider is here, as far as can be told without opening a session. */
  readonly installed: () => boolean;
  /** What else it needs, which only opening a session tells. */
  readonly proviso?: string;
}

/** Each device's onnxruntime execution provider, and how to tell that it can run here. */
export const PROVIDERS = {
  cpu: { name: 'cpu', label: 'CPU', installed: () => true },
  cuda: { name: 'cuda', label: 'CUDA', installed: cudaInstalled },
  webgpu: { name: 'webgpu', label: 'WebGPU', installed: () => true, proviso: 'where an adapter exists' },
} as const satisfies Record<string, Provider>;

export type ConcreteDevice = keyof typeof PROVIDERS;
export type Device = 'auto' | ConcreteDevice;
export const DEVICES = ['auto', ...(Object.keys(PROVIDERS) as ConcreteDevice[])] as const satisfies readonly Device[];

/** What `auto` tries, in order: the first whose session opens is used; the last is the fallback, its failure the error. */
export const AUTO = ['cuda', 'cpu'] as const satisfies readonly ConcreteDevice[];

export type ConcretePrecision = 'fp32' | 'int8';
export type Precision = 'auto' | ConcretePrecision;
/** fp32 first: the default, the same picture on every CPU; int8 and auto trade fidelity for speed when asked. */
export const PRECISIONS = ['fp32', 'int8', 'auto'] as const satisfies readonly Precision[];

export function sessionOptions(device: ConcreteDevice): InferenceSession.SessionOptions {
  return {
    executionProviders: [PROVIDERS[device].name],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // The memory pattern pre-plans one block for every intermediate of a shape and keeps it: about 70 MiB more at a
    // 322 px window, and no faster (measured on x4v3 and x4plus).
    enableMemPattern: false,
    // Threads that spin while waiting for work take cores from the other process and from other programs: spinning off
    // took 0.85× the time on a busy host and 0.94× (within noise) on a quiet one (x4v3 256², interleaved).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/**
 * The precision on the CPU, and why. int8 is a CPU path: onnxruntime's GPU providers have no integer convolutions.
 * The options have been checked: an int8 request names a network that has an int8 form.
 */
export function cpuPrecision(model: NetworkModel, requested: Precision, vnni: boolean, option: string): { precision: ConcretePrecision; why?: string } {
  if (requested === 'fp32' || !model.int8) return { precision: 'fp32' };
  if (requested === 'int8') return { precision: 'int8', ...(!vnni && { why: messages.int8NoVnni() }) };
  if (!vnni) return { precision: 'fp32', why: messages.int8NeedsVnni(option) };
  return { precision: 'int8', why: messages.int8Chosen(model.int8.worstPsnr, model.int8.medianPsnr, option) };
}

export function availableDevices(): string[] {
  return Object.entries(PROVIDERS)
    .filter(([, provider]) => provider.installed())
    .map(([device, provider]: [string, Provider]) => (provider.proviso ? `${device} (${provider.proviso})` : device));
}
