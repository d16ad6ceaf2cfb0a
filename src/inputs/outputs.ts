/** Decides where each input's output goes, and refuses plans that would clobber an input or collide. */
import { existsSync, statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Source } from './discover.js';
import { isMediaExtension, WRITABLE_EXTENSIONS, type Format, type VideoFormat } from '../core/formats.js';
import { inputError, UsageError } from '../core/errors.js';
import { messages } from '../core/messages.js';
import { DEFAULT_NAMES, formatOf, outputFormat, outputName } from './names.js';

export interface PlannedFile extends Source {
  output: string;
  /** An image format, or a video container for a video. */
  format: Format | VideoFormat;
}

/**
 * `-o` names a file when it has an image or video extension and is not an existing folder. An extension of a format
 * the tool does not write (`-o x.bmp`) is a mistake, not a folder name.
 */
function outputFileFormat(output: string | undefined, option: string): Format | VideoFormat | undefined {
  if (output === undefined || output.endsWith('/') || (existsSync(output) && statSync(output).isDirectory())) return undefined;
  const extension = extname(output);
  const format = formatOf(extension);
  if (!format && isMediaExtension(extension)) throw new UsageError(messages.outputNotWritable(option, output, extension.slice(1).toLowerCase(), WRITABLE_EXTENSIONS));
  return format;
}

export interface OutputOptions {
  /** How messages name the output option (`output` or `--output`). */
  optionName: (key: 'output') => string;
  output?: string;
  format?: Format;
  scale: number;
  /** The model that runs, for `{model}`. */
  model: string;
  /** `--name`: the output name's template, relative to the output folder (or, without one, the input's folder). */
  name?: string;
}

/**
 * Plans every input's output. An output that would be an input is a usage error (nothing runs); inputs whose
 * outputs collide each get a problem naming the other, and the rest of the batch runs.
 */
export async function planOutputs(sources: readonly Source[], options: OutputOptions): Promise<PlannedFile[]> {
  const option = options.optionName('output');
  const fileFormat = outputFileFormat(options.output, option);
  if (fileFormat && sources.length > 1) throw new UsageError(messages.outputFileNeedsOneInput(option, options.output!, sources.length));
  const planned = sources.map((source): PlannedFile => {
    const format = outputFormat(source.input, fileFormat, options.format);
    if (fileFormat) return { ...source, output: options.output!, format };
    // An input already known to be unusable (an empty folder) has no output.
    if (source.problem) return { ...source, output: '', format };
    const beside = options.output === undefined;
    const template = options.name ?? (beside ? DEFAULT_NAMES.beside : DEFAULT_NAMES.inFolder);
    const name = outputName(template, source, format, options);
    return { ...source, output: join(beside ? dirname(source.input) : options.output!, name), format };
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
