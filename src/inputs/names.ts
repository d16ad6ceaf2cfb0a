/**
 * Output names: the templates (`--name`), their fields and defaults, each output's format and name, and how an
 * earlier output beside its input is recognised (exactly as this run would name it).
 */
import { basename, dirname, extname, join } from 'node:path';
import { extensionOf, isVideoFormat, videoFormatOf, writableFormatOf, type Format, type VideoFormat } from '../core/formats.js';

/** The fields an output name template (`--name`) may use. */
export const NAME_FIELDS = ['stem', 'ext', 'model', 'scale', 'dir'] as const;
type NameField = (typeof NAME_FIELDS)[number];

/** Any known field, `{stem}` and the like, built from NAME_FIELDS. */
const KNOWN_FIELD = new RegExp(`\\{(${NAME_FIELDS.join('|')})\\}`, 'g');

/** Output names: beside the input without `-o`, mirroring the input tree below an `-o` folder. */
export const DEFAULT_NAMES = { beside: '{stem}-x{scale}.{ext}', inFolder: '{dir}/{stem}.{ext}' } as const;

/** The fields a template names, in order; undefined entries are literal text. */
function fieldsOf(template: string): { text: string; field?: NameField }[] {
  return template.split(/(\{[^{}]*\})/).filter(Boolean).map((part) => {
    const field = /^\{(\w+)\}$/.exec(part)?.[1];
    return field && (NAME_FIELDS as readonly string[]).includes(field) ? { text: part, field: field as NameField } : { text: part };
  });
}

/** Checks a template: only known fields, and no field left unclosed. */
export function checkNameTemplate(template: string): string | undefined {
  const rest = template.replace(KNOWN_FIELD, '');
  const unknown = /\{[^{}]*\}/.exec(rest)?.[0];
  if (unknown !== undefined) return unknown;
  if (/[{}]/.test(rest)) return template;
  return undefined;
}

function expand(template: string, values: Record<NameField, string>): string {
  return fieldsOf(template).map((part) => (part.field ? values[part.field] : part.text)).join('');
}

/**
 * What an earlier output's name beside its input looks like under `template`: a pattern whose `stem` group is the
 * input's stem (`cat` for `cat-x4.png`, `cat@2x.webp` under `{stem}@{scale}x.{ext}`).
 */
export function besidePattern(template: string): RegExp {
  const pattern = fieldsOf(template)
    .map(({ text, field }) => {
      if (field === 'stem') return '(?<stem>.+)';
      if (field === 'scale') return '\\d+(?:\\.\\d+)?';
      if (field === 'ext') return '[A-Za-z0-9]+';
      if (field === 'model') return '[A-Za-z0-9._-]+';
      if (field === 'dir') return '\\.';
      return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${pattern}$`);
}

/** The image format or video container an extension names, if the tool writes it. */
export function formatOf(extension: string): Format | VideoFormat | undefined {
  return writableFormatOf(extension) ?? videoFormatOf(extension);
}

/**
 * An output's format: an `-o` file's extension, else `--format` for an image, else the input's own by its
 * extension (its content is checked when it is read). A video keeps its container: `--format` names image formats.
 */
export function outputFormat(input: string, fileFormat: Format | VideoFormat | undefined, format: Format | undefined): Format | VideoFormat {
  if (fileFormat && isVideoFormat(fileFormat)) return fileFormat;
  const own = formatOf(extname(input)) ?? 'png';
  if (isVideoFormat(own) && !fileFormat) return own;
  return format ?? fileFormat ?? own;
}

/** Keeps the input's own extension spelling when the format is unchanged (photo.JPEG stays .JPEG). */
function extensionFor(input: string, format: Format | VideoFormat): string {
  const own = extname(input);
  return formatOf(own) === format ? own : extensionOf(format);
}

/** What an output's name depends on besides its input: the template's fields from the run. */
export interface NameRun {
  model: string;
  scale: number;
  /** `--format`, for images. */
  format?: Format;
}

/**
 * An output's name by `template`, relative to its folder: beside its input (`dir` is `.`) or below an `-o` folder
 * (`dir` mirrors the input's folder below its walked root).
 */
export function outputName(template: string, source: { input: string; relative: string }, format: Format | VideoFormat, run: NameRun & { output?: string }): string {
  const beside = run.output === undefined;
  return expand(template, {
    stem: basename(source.relative, extname(source.relative)),
    ext: extensionFor(source.input, format).slice(1),
    model: run.model,
    scale: String(Number(run.scale.toFixed(3))),
    dir: beside ? '.' : dirname(source.relative),
  });
}

/**
 * Of walked files (paths relative to one root), those that are exactly what this run writes beside another of them
 * (`cat-x4.png` beside `cat.png` at ×4, not `cat-x2.jpg`), each with the input it belongs to; without the scale (a
 * custom model not yet probed), any scale matches.
 */
export function earlierOutputs(found: readonly string[], template: string, run: Omit<NameRun, 'scale'> & { scale?: number }): Map<string, string> {
  const of = new Map<string, string>();
  if (run.scale === undefined) {
    const pattern = besidePattern(template);
    const stems = new Map(found.map((rel) => [join(dirname(rel), basename(rel, extname(rel))), rel]));
    for (const rel of found) {
      const stem = pattern.exec(basename(rel))?.groups?.stem;
      const input = stem === undefined ? undefined : stems.get(join(dirname(rel), stem));
      if (input !== undefined && input !== rel) of.set(rel, input);
    }
    return of;
  }
  const present = new Set(found);
  for (const rel of found) {
    const output = join(dirname(rel), outputName(template, { input: rel, relative: rel }, outputFormat(rel, undefined, run.format), { ...run, scale: run.scale }));
    if (output !== rel && present.has(output)) of.set(output, rel);
  }
  return of;
}
