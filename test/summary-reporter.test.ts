/** The closing line CI counts tests from: the project's vitest config run on fixtures with one test of each outcome. */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fixtures, scratch } from './helpers.js';

const root = join(fixtures, '..');

it('a failing run keeps the verbose listing, ends with the counts as its last line, and exits 1', () => {
  const log = join(scratch(), 'log');
  // One file for stdout and stderr together, in the order written, as a CI log holds them.
  const fd = openSync(log, 'w');
  const run = spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--no-color', '--dir', 'fixtures/summary-reporter'], {
    cwd: root,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const output = readFileSync(log, 'utf8');
  expect(run.status).toBe(1);
  expect(output).toMatch(/^ ✓ fixtures\/summary-reporter\/test\/sample\.test\.ts > passes/m);
  // broken.test.ts fails on import, outside any test: it counts as a failure; skipped and todo are both skipped.
  expect(output.match(/^tests: .*/gm)).toEqual(['tests: 1 passed, 2 failed, 2 skipped']);
  expect(output.endsWith('\ntests: 1 passed, 2 failed, 2 skipped\n')).toBe(true);
});
