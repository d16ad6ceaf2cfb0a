/**
 * The CPU's features, read in this one place: from /proc/cpuinfo, or from `UPSCALE_CPU_FEATURES` where that is set.
 * They decide only policy (what `--precision auto` picks, and what the notices say), never a picture's pixels, so
 * the variable lets tests run both branches on any machine and lets a fleet of mixed machines behave alike.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import { messages } from '../core/messages.js';

export const CPU_FEATURES_VARIABLE = 'UPSCALE_CPU_FEATURES';
/** What `UPSCALE_CPU_FEATURES` may say: the CPU has VNNI, or has none. */
export const CPU_FEATURE_SETS = ['vnni', 'none'] as const;

/** VNNI (8-bit dot products) is what makes int8 convolutions faster than float32 ones: AVX-512 VNNI or AVX-VNNI. */
export const VNNI_FLAGS = ['avx512_vnni', 'avx_vnni'] as const;

let flags: ReadonlySet<string> | undefined;
/** The CPU's own feature flags (Linux /proc/cpuinfo); none where that cannot be read. What onnxruntime's kernels see. */
export function detectedCpuFlags(): ReadonlySet<string> {
  try {
    flags ??= new Set(/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim().split(/\s+/) ?? []);
  } catch {
    flags = new Set();
  }
  return flags;
}

export const flagsHaveVnni = (cpu: ReadonlySet<string>): boolean => VNNI_FLAGS.some((f) => cpu.has(f));

/** Whether the CPU counts as having VNNI: `UPSCALE_CPU_FEATURES` (vnni or none) where set, else what the CPU says. */
export function hasVnni(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const given = env[CPU_FEATURES_VARIABLE]?.trim();
  if (!given) return flagsHaveVnni(detectedCpuFlags());
  if (!(CPU_FEATURE_SETS as readonly string[]).includes(given)) throw new UsageError(messages.expectedOneOf(CPU_FEATURES_VARIABLE, CPU_FEATURE_SETS, given));
  return given === 'vnni';
}
