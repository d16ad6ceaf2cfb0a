/** Expands the command line's files, folders and globs into the list of images to process. */
import { existsSync } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import fg from 'fast-glob';
import { inputError, UsageError, type InputError } from '../core/errors.js';
import { MEDIA_EXTENSIONS, PAGE_EXTENSIONS } from '../core/formats.js';
import { messages } from '../core/messages.js';
import { earlierOutputs, type NameRun } from './names.js';


export interface Source {
  /** The path as the user spelled it (a walked file: the folder as given joined with the path below it). */
  input: string;
  /** Path below the folder or glob base it came from; mirrored under an --output folder. */
  relative: string;
  /** Why this input cannot be processed, when that is known before it is opened; the batch goes on without it. */
  problem?: InputError;
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

/**
 * Image files below `folder` matching `pattern`. Hidden files and folders (.DS_Store, ._*, .git) are skipped by
 * `dot: false`; non-image names by the pattern. Links to folders are not followed, so link loops cannot make the
 * walk endless; links to files are kept (a dangling one then fails with a clear "cannot read").
 */
async function walk(folder: string, pattern: string, exclude: readonly string[]): Promise<string[]> {
  // Links to folders are not followed below it, so a walked path's real location is below the folder's own.
  const real = await realpath(folder).catch(() => resolve(folder));
  const excluded = (rel: string) => [resolve(folder, rel), join(real, rel)].some((path) => exclude.some((prefix) => path.startsWith(prefix)));
  const entries = await fg(pattern, {
    cwd: folder,
    dot: false,
    onlyFiles: false,
    followSymbolicLinks: false,
    caseSensitiveMatch: false,
    suppressErrors: true,
    objectMode: true,
  });
  const found: string[] = [];
  for (const entry of entries) {
    const path = join(folder, entry.path);
    if (excluded(entry.path)) continue;
    if (inPageFiles(folder, entry.path)) continue;
    if (entry.dirent.isFile()) found.push(entry.path);
    else if (entry.dirent.isSymbolicLink() && !(await stat(path).catch(() => undefined))?.isDirectory()) found.push(entry.path);
  }
  return found.sort();
}

/**
 * Whether a walked path lies in a web page's files folder (`report_files/` beside `report.html`, as --report and
 * `upscale compare` write, and as browsers save pages): its pictures are the page's, not photos to upscale.
 */
function inPageFiles(folder: string, path: string): boolean {
  const parts = path.split('/');
  return parts.slice(0, -1).some((part, i) => {
    const page = /^(.+)_files$/.exec(part)?.[1];
    return page !== undefined && PAGE_EXTENSIONS.some((extension) => existsSync(join(folder, ...parts.slice(0, i), page + extension)));
  });
}

export interface Discovered {
  sources: Source[];
  /** Walked files left out as earlier outputs: each exactly what this run writes beside an input walked too. */
  earlierOutputs: { file: string; input: string }[];
}

/** How this run names outputs beside their inputs, to leave earlier ones out: the template, and its fields' values. */
export interface OwnOutputs extends Omit<NameRun, 'scale'> {
  template: string;
  /** Unknown for a custom model until it is probed: then an output at any scale is recognised. */
  scale?: number;
}

/**
 * @param outputFolder an --output folder: never walked into, so outputs written below an input folder are not
 *   taken for inputs on the next run.
 * @param base file inputs below it keep their path below it (mirrored under the output folder), not just their name.
 * @param own how this run names outputs beside their inputs, so that a second run in place neither upscales its own
 *   earlier outputs nor refuses to start.
 */
export async function discover(
  inputs: readonly string[],
  outputFolder: string | undefined,
  own: OwnOutputs,
  name: (key: 'output') => string,
  base?: string,
): Promise<Discovered> {
  const below = base === undefined ? undefined : resolve(base);
  const outputReal = outputFolder === undefined ? undefined : await realpath(outputFolder).catch(() => resolve(outputFolder));
  // The output folder as spelled and as it really is: an input folder reached through a link walks the real one.
  const exclude = outputFolder === undefined ? [] : [resolve(outputFolder) + sep, outputReal + sep];
  if (inputs.length === 0) throw new UsageError(messages.noInputs());
  const sources: Source[] = [];
  const earlier: Discovered['earlierOutputs'] = [];
  const seen = new Set<string>();
  const add = async (path: string, rel: string) => {
    const real = await realpath(path).catch(() => resolve(path));
    if (seen.has(real)) return;
    seen.add(real);
    sources.push({ input: path, relative: rel });
  };
  const addWalked = async (base: string, found: readonly string[]) => {
    const outputs = earlierOutputs(found, own.template, own);
    for (const [file, input] of outputs) earlier.push({ file: join(base, file), input: join(base, input) });
    for (const rel of found) if (!outputs.has(rel)) await add(join(base, rel), rel);
  };
  const imagePattern = `**/*.{${MEDIA_EXTENSIONS.join(',')}}`;
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (info?.isDirectory()) {
      if (outputReal !== undefined && (await realpath(input)) === outputReal) throw new UsageError(messages.outputIsInputFolder(name('output'), outputFolder!));
      const found = await walk(input, imagePattern, exclude);
      if (found.length === 0) sources.push({ input, relative: basename(input), problem: inputError('emptyFolder', input) });
      await addWalked(input, found);
      continue;
    }
    // Anything else that exists is an input of its own: a file, but also a FIFO, a device or a broken link, which
    // then fail alone with their real cause (and are never read); only a path that is not there is a usage error.
    if (info || (await lstat(input).catch(() => undefined))) {
      // Below --base, a file keeps its path under it, as a walked file does under its folder.
      const rel = below !== undefined && resolve(input).startsWith(below + sep) ? relative(below, resolve(input)) : basename(input);
      await add(input, rel);
      continue;
    }
    if (!fg.isDynamicPattern(input)) throw new UsageError(messages.notFound(input));
    const base = globBase(input.replace(/\\/g, '/'));
    const pattern = relative(base, input.replace(/\\/g, '/')) || input;
    const matches = (await walk(base, pattern, exclude)).filter((rel) => MEDIA_EXTENSIONS.includes(rel.split('.').pop()!.toLowerCase()));
    if (matches.length === 0) throw new UsageError(messages.nothingMatched(input));
    await addWalked(base, matches);
  }
  return { sources, earlierOutputs: earlier };
}

/** The deepest folder that holds every one of `paths` (files): where a list of files mirrors from. */
export function commonFolder(paths: readonly string[]): string | undefined {
  const folders = paths.map((path) => resolve(path, '..').split(sep));
  if (folders.length === 0) return undefined;
  let depth = 0;
  while (folders.every((parts) => depth < parts.length && parts[depth] === folders[0]![depth])) depth++;
  return folders[0]!.slice(0, depth).join(sep) || sep;
}
