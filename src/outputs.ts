/** Decides where each input's output goes, and refuses plans that would clobber an input or collide. */
import { existsSync, statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Source } from './discover.js';
import { extensionOf, isImageExtension, writableFormatOf, WRITABLE_EXTENSIONS, type Format } from './formats.js';
import { inputError, UsageError } from './errors.js';
import { messages } from './messages.js';

export interface PlannedFile extends Source {
  output: string;
  format: Format;
}

/**
 * `-o` names a file when it has an image extension and is not an existing folder. An image extension the tool does
 * not write (`-o x.bmp`) is a mistake, not a folder name.
 */
function outputFileFormat(output: string | undefined, option: string): Format | undefined {
  if (output === undefined || output.endsWith('/') || (existsSync(output) && statSync(output).isDirectory())) return undefined;
  const extension = extname(output);
  const format = writableFormatOf(extension);
  if (!format && isImageExtension(extension)) throw new UsageError(messages.outputNotWritable(option, output, extension.slice(1).toLowerCase(), WRITABLE_EXTENSIONS));
  return format;
}

/** The input's format by its extension; inputs no encoder here writes (gif) become png. */
function inputFormatGuess(input: string): Format {
  return writableFormatOf(extname(input)) ?? 'png';
}

/** Keeps the input's own extension spelling when the format is unchanged (photo.JPEG stays .JPEG). */
function extensionFor(input: string, format: Format): string {
  const own = extname(input);
  return writableFormatOf(own) === format ? own : extensionOf(format);
}

/** The name an output gets beside its input without `-o`: `<stem>-x<scale>`. */
function besideName(stem: string, scale: number): string {
  return `${stem}-x${Number(scale.toFixed(3))}`;
}

/** The input stem a name beside it was made from (`cat` for `cat-x4`, `cat-x2.5`), if it has that shape. */
export function besideStem(stem: string): string | undefined {
  return /^(.+)-x\d+(?:\.\d+)?$/.exec(stem)?.[1];
}

export interface PlanOptions {
  /** How messages name the output option (`output` or `--output`). */
  optionName: (key: 'output') => string;
  output?: string;
  format?: Format;
  scale: number;
}

/**
 * Plans every input's output. An output that would be an input is a usage error (nothing runs); inputs whose
 * outputs collide each get a problem naming the other, and the rest of the batch runs.
 */
export async function planOutputs(sources: readonly Source[], options: PlanOptions): Promise<PlannedFile[]> {
  const option = options.optionName('output');
  const fileFormat = outputFileFormat(options.output, option);
  if (fileFormat && sources.length > 1) throw new UsageError(messages.outputFileNeedsOneInput(option, options.output!, sources.length));
  const planned = sources.map((source): PlannedFile => {
    const stem = basename(source.relative, extname(source.relative));
    if (fileFormat) return { ...source, output: options.output!, format: options.format ?? fileFormat };
    const format = options.format ?? inputFormatGuess(source.input);
    // An input already known to be unusable (an empty folder) has no output.
    if (source.problem) return { ...source, output: '', format };
    const name = options.output === undefined ? besideName(stem, options.scale) : stem;
    const folder = options.output === undefined ? dirname(source.input) : join(options.output, dirname(source.relative));
    return { ...source, output: join(folder, name + extensionFor(source.input, format)), format };
  });
  const inputs = new Map<string, string>();
  for (const file of planned) inputs.set(await canonical(file.input), file.input);
  const byOutput = new Map<string, PlannedFile[]>();
  for (const file of planned) {
    if (file.problem) continue;
    const target = await canonical(file.output);
    if (inputs.has(target)) throw new UsageError(messages.outputIsInput(inputs.get(target)!));
    byOutput.set(target, [...(byOutput.get(target) ?? []), file]);
  }
  for (const files of byOutput.values()) {
    if (files.length < 2) continue;
    for (const file of files) {
      const other = files.find((f) => f !== file)!;
      file.problem = inputError('outputCollision', file.input, file.output, other.input);
    }
  }
  return planned;
}

/** Resolves symbolic links and `..` so two spellings of one file compare equal, also for files not yet written. */
async function canonical(path: string): Promise<string> {
  const absolute = resolve(path);
  const real = await realpath(absolute).catch(() => undefined);
  if (real) return real;
  const folder = await realpath(dirname(absolute)).catch(() => dirname(absolute));
  return join(folder, basename(absolute));
}
