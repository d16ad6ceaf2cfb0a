/** Expands the command line's files, folders and globs into the list of images to process. */
import { realpath, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import fg from 'fast-glob';
import { UsageError } from './errors.js';
import { messages } from './messages.js';

/** Extensions picked up when walking folders or globs; a file named explicitly is always tried. */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'jpe', 'png', 'webp', 'avif', 'tif', 'tiff', 'gif'];

export interface Source {
  /** The path as the user spelled it (a walked file: the folder as given joined with the path below it). */
  input: string;
  /** Path below the folder or glob base it came from; mirrored under an --output folder. */
  relative: string;
}

/** The leading part of a glob that has no magic characters: where its matches are relative to. */
function globBase(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const part of parts) {
    if (part !== '' && fg.isDynamicPattern(part)) break;
    fixed.push(part);
  }
  if (fixed.length === parts.length) fixed.pop();
  return fixed.join('/') || '.';
}

async function walk(folder: string, pattern: string): Promise<string[]> {
  // Hidden files and folders (.DS_Store, ._*, .git) are skipped by `dot: false`; non-image files by the pattern.
  // Symbolic links are not followed into folders, so link loops cannot make the walk endless.
  const found = await fg(pattern, {
    cwd: folder,
    dot: false,
    onlyFiles: true,
    followSymbolicLinks: false,
    caseSensitiveMatch: false,
    suppressErrors: true,
    absolute: false,
  });
  return found.sort();
}

export async function discover(inputs: readonly string[]): Promise<Source[]> {
  if (inputs.length === 0) throw new UsageError(messages.noInputs());
  const sources: Source[] = [];
  const seen = new Set<string>();
  const add = async (path: string, rel: string) => {
    const real = await realpath(path).catch(() => resolve(path));
    if (seen.has(real)) return;
    seen.add(real);
    sources.push({ input: path, relative: rel });
  };
  const imagePattern = `**/*.{${IMAGE_EXTENSIONS.join(',')}}`;
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (info?.isFile()) {
      await add(input, basename(input));
      continue;
    }
    if (info?.isDirectory()) {
      const found = await walk(input, imagePattern);
      if (found.length === 0) throw new UsageError(messages.nothingMatched(input));
      for (const rel of found) await add(join(input, rel), rel);
      continue;
    }
    if (!fg.isDynamicPattern(input)) throw new UsageError(messages.notFound(input));
    const base = globBase(input.replace(/\\/g, '/'));
    const pattern = relative(base, input.replace(/\\/g, '/')) || input;
    const matches = (await walk(base, pattern)).filter((rel) => IMAGE_EXTENSIONS.includes(rel.split('.').pop()!.toLowerCase()));
    if (matches.length === 0) throw new UsageError(messages.nothingMatched(input));
    for (const rel of matches) await add(join(base, rel), rel);
  }
  return sources;
}
