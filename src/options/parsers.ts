/**
 * The option parsers: each reads one value as the command line gives it (a string) or a library caller does (typed),
 * checks it against its bounds or choices, and says them for the help; the table in options.ts pairs them with flags.
 */
import { findModel, modelNames, type Model, type Noise } from '../models/catalog.js';
import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import type { Crop, Resize } from '../pixels/edit.js';
import { PAGE_EXTENSIONS } from '../core/formats.js';
import { checkNameTemplate, NAME_FIELDS } from '../inputs/names.js';
import { UsageError } from '../core/errors.js';
import { messages } from '../core/messages.js';
import { isExecutableFile } from '../files/ffmpeg.js';
import { MAX_SHARDS } from '../inputs/shard.js';
import type { Shard } from '../core/results.js';

/** Reads one option's value, as given on the command line (a string) or by a library caller (typed). */
export interface Parser<In, Out> {
  /** For help: the accepted range or choices ("16-4096", "png, jpeg, …"), from what `parse` checks. */
  readonly text?: string;
  readonly parse: (value: In, flag: string) => Out;
}

type Raw = number | string;

function parseNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || value.trim() === '') return NaN;
  return Number(value);
}

/** A range as help says it: "16-4096", "-360 to 360", or "1 or more" when only the lower bound matters. */
function rangeText(min: number, max: number): string {
  if (max === Number.MAX_SAFE_INTEGER) return `${min} or more`;
  return min < 0 ? `${min} to ${max}` : `${min}-${max}`;
}

function bounded(kind: 'integer' | 'number', min: number, max: number): Parser<Raw, number> & { min: number; max: number } {
  const valid = kind === 'integer' ? Number.isInteger : Number.isFinite;
  return {
    min,
    max,
    text: rangeText(min, max),
    parse: (value, flag) => {
      const n = parseNumber(value);
      if (!valid(n) || n < min || n > max) throw new UsageError(messages.expected(`${kind} between ${min} and ${max}`, flag, value));
      return n;
    },
  };
}

export const integer = (min: number, max: number) => bounded('integer', min, max);
export const number = (min: number, max: number) => bounded('number', min, max);

/** One of `allowed`, any case; `alias` names the choice another spelling stands for (jpg: jpeg), if any. */
export function oneOf<T extends string>(allowed: readonly T[], alias?: (value: string) => NoInfer<T> | undefined): Parser<string, T> {
  return {
    text: allowed.join(', '),
    parse: (value, flag) => {
      const lower = typeof value === 'string' ? value.toLowerCase() : '';
      const choice = alias?.(lower) ?? lower;
      if (!(allowed as readonly string[]).includes(choice)) throw new UsageError(messages.expectedOneOf(flag, allowed, value));
      return choice as T;
    },
  };
}

/** 0 as a value of its own, beside a range that does not include it (`--tile 0`: the whole image). */
export function zeroOr<P extends Parser<Raw, number>>(range: P): P {
  return { ...range, parse: (value: Raw, flag: string) => (parseNumber(value) === 0 ? 0 : range.parse(value, flag)) };
}

/** A flag whose value may be left out (`--sharpen`, `--sharpen 2`): true without one. */
export function optionalValue<Out>(inner: Parser<Raw, Out>): Parser<boolean | Raw, Out | true | undefined> {
  return { text: inner.text, parse: (value, flag) => (value === true ? true : value === false ? undefined : inner.parse(value, flag)) };
}

export const toggle: Parser<boolean, boolean> = { parse: (value) => Boolean(value) };
export const text: Parser<string, string> = { parse: (value) => value };

export const nonEmpty: Parser<string, string> = {
  parse: (value, flag) => {
    if (typeof value !== 'string' || value.trim() === '') throw new UsageError(messages.expected('non-empty text', flag, value));
    return value;
  },
};

export const nameTemplate: Parser<string, string> = {
  text: NAME_FIELDS.map((field) => `{${field}}`).join(', '),
  parse: (value, flag) => {
    const wrong = typeof value === 'string' && value.trim() !== '' ? checkNameTemplate(value) : value;
    if (wrong !== undefined) throw new UsageError(messages.expected(`a name template using ${NAME_FIELDS.map((f) => `{${f}}`).join(', ')}`, flag, value));
    return value;
  },
};

const COLOUR = /^(#[0-9a-f]{3}|#[0-9a-f]{4}|#[0-9a-f]{6}|#[0-9a-f]{8}|[a-z]+)$/i;

export const colour: Parser<string, string> = {
  parse: (value, flag) => {
    if (!COLOUR.test(value)) throw new UsageError(messages.expected('a colour as #rgb, #rrggbb or a CSS name', flag, value));
    return value;
  },
};

/** `i/n`, `{ index, count }` (both from 1), or `auto`, which `resolveShard` reads from the environment. */
export const shard: Parser<Shard | string, Shard | 'auto'> = {
  parse: (value, flag) => {
    if (typeof value === 'string' && value.trim().toLowerCase() === 'auto') return 'auto';
    const match = typeof value === 'string' ? /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value) : undefined;
    const [index, count] = typeof value === 'string' ? [Number(match?.[1]), Number(match?.[2])] : [value.index, value.count];
    if (!(Number.isInteger(index) && Number.isInteger(count) && index >= 1 && index <= count && count <= MAX_SHARDS)) {
      throw new UsageError(messages.expected('i/n with i from 1 to n, or auto,', flag, typeof value === 'string' ? value : `${value.index}/${value.count}`));
    }
    return { index, count };
  },
};

export const shardCount = integer(1, MAX_SHARDS);

/** `--noise`: 0-3 or conservative; whether the model has that level at the scale is the catalogue's to say. */
export const noise: Parser<Noise | string, Noise> = {
  text: '0-3 or conservative',
  parse: (value, flag) => {
    if (typeof value === 'string' && value.trim().toLowerCase() === 'conservative') return 'conservative';
    const n = parseNumber(value);
    if (!(n === 0 || n === 1 || n === 2 || n === 3)) throw new UsageError(messages.expected('0, 1, 2, 3 or conservative', flag, value));
    return n;
  },
};

export const ALPHA_MODELS = ['model', 'bicubic'] as const;
export type AlphaModel = (typeof ALPHA_MODELS)[number];

export const model: Parser<string, Model> = {
  // A getter: the names come from the manifest, read only when help is shown.
  get text() {
    return modelNames().join(', ');
  },
  parse: (value, flag) => {
    const found = findModel(value);
    if (!found) throw new UsageError(messages.unknownModel(value, modelNames(), flag));
    return found;
  },
};

export const executable: Parser<string, string> = {
  parse: (path, flag) => {
    // The CLI also takes it from UPSCALE_FFMPEG.
    if (!isExecutableFile(path)) throw new UsageError(messages.expected('an executable ffmpeg file', flag.startsWith('--') ? `${flag} (or UPSCALE_FFMPEG)` : flag, path));
    return path;
  },
};

export const watermarkFile: Parser<string, string> = {
  parse: (path, flag) => {
    if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(messages.badWatermark(flag, path, 'no such file'));
    return path;
  },
};

/** A page the tool writes (--report, compare's -o): named .html or .htm, so a browser opens it and no image is overwritten. */
export const htmlFile: Parser<string, string> = {
  parse: (value, flag) => {
    if (typeof value !== 'string' || !PAGE_EXTENSIONS.includes(extname(value).toLowerCase())) throw new UsageError(messages.expected('a file name ending in .html', flag, value));
    return value;
  },
};

export const crop: Parser<Crop | string, Crop> = {
  parse: (value, flag) => {
    const parts = typeof value === 'string' ? value.split(',').map((p) => p.trim()) : [value.left, value.top, value.width, value.height];
    const numbers = parts.map(parseNumber);
    const valid =
      numbers.length === 4 && numbers.every((n) => Number.isInteger(n) && n >= 0) && numbers[2]! > 0 && numbers[3]! > 0;
    if (!valid) throw new UsageError(messages.expected('left,top,width,height as whole numbers (width and height > 0)', flag, typeof value === 'string' ? value : parts.join(',')));
    const [left, top, width, height] = numbers as [number, number, number, number];
    return { left, top, width, height };
  },
};

export const resize: Parser<Resize | string, Resize> = {
  parse: (value, flag) => {
    const fail = () => new UsageError(messages.expected('WxH, Wx, xH or WxH! with whole numbers of pixels', flag, typeof value === 'string' ? value : `${value.width}x${value.height}`));
    if (typeof value !== 'string') {
      const ok = [value.width, value.height].every((n) => n === undefined || (Number.isInteger(n) && n > 0)) && (value.width ?? value.height) !== undefined;
      if (!ok) throw fail();
      return value;
    }
    const match = /^\s*(\d*)\s*[xX×]\s*(\d*)\s*(!?)\s*$/.exec(value);
    if (!match || (match[1] === '' && match[2] === '') || (match[3] && (match[1] === '' || match[2] === ''))) throw fail();
    const width = match[1] ? Number(match[1]) : undefined;
    const height = match[2] ? Number(match[2]) : undefined;
    if (width === 0 || height === 0) throw fail();
    return match[3] ? { width, height, fit: 'fill' } : { width, height };
  },
};
