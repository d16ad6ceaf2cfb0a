/** Atomic output: bytes go to a temporary file beside the target and are renamed into place when complete. */
import { randomBytes } from 'node:crypto';
import { access, link, mkdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError, inputError, transient } from '../core/errors.js';
import { errnoText } from '../core/messages.js';
import { withTemporary } from './leftovers.js';

/** Write failures whose cause may pass (space freed, a device or a network share back): a retry may succeed. */
const TRANSIENT_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EAGAIN', 'EBUSY', 'ETIMEDOUT', 'ENOMEM', 'ESTALE']);

/**
 * Writes a file at `target` atomically: `write` fills a new temporary file beside it, which is then moved into place.
 * Without `overwrite`, an existing target is never replaced, even one that appeared while we worked: the final step
 * is a hard link, which fails if the name is taken. File-system errors become one-line input errors; any other
 * error from `write` (a failing encoder, say) passes through unchanged.
 */
export async function writeAtomically(
  target: string,
  write: (temporary: string) => Promise<void>,
  {
    overwrite,
    input,
    failed = (detail) => inputError('unwritable', input, target, detail),
  }: {
    overwrite: boolean;
    /** Named in errors: the file this output belongs to. */
    input: string;
    /** The error for a write the system refused (disk full, permissions), from its cause in words. */
    failed?: (detail: string) => InputError;
  },
): Promise<void> {
  const folder = dirname(target);
  const temporary = join(folder, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await makeFolder(folder);
    await withTemporary(temporary, async () => {
      await write(temporary);
      await moveIntoPlace(temporary, target, overwrite, input);
    });
  } catch (error) {
    // Only the system's refusals become write errors: anything else (an interruption, the work's own failure) is
    // what it is, also when the work ran inside (a video is encoded straight into its temporary file).
    const { code, syscall } = error as NodeJS.ErrnoException;
    if (error instanceof InputError || code === undefined || syscall === undefined) throw error;
    const refused = failed(errnoText(code));
    throw TRANSIENT_ERRNOS.has(code) ? transient(refused) : refused;
  }
}

/** Creates `folder` and its missing parents, failing with the real cause. */
async function makeFolder(folder: string): Promise<void> {
  try {
    await mkdir(folder, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A file where a folder should be reports EEXIST; name the real problem.
    if (code === 'EEXIST') throw Object.assign(error as Error, { code: 'ENOTDIR' });
    if (code !== 'ENOENT') throw error;
    // A recursive mkdir says ENOENT when a parent could not be made (a read-only or locked folder): making the
    // first missing level alone fails with the real cause.
    let missing = folder;
    while (dirname(missing) !== missing && !(await exists(dirname(missing)))) missing = dirname(missing);
    await mkdir(missing);
    throw error;
  }
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Moves the finished temporary file to `target`: a rename, or without `overwrite` a hard link that fails if the name is taken. */
async function moveIntoPlace(temporary: string, target: string, overwrite: boolean, input: string): Promise<void> {
  if (overwrite) return rename(temporary, target);
  try {
    await link(temporary, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw inputError('outputExists', input, target);
    // File systems without hard links (FAT, some network shares): fall back to a plain rename.
    if (code !== 'EPERM' && code !== 'ENOTSUP') throw error;
    await rename(temporary, target);
  }
}
