/**
 * Ends the run with one plain line, `tests: 212 passed, 0 failed, 1 skipped`, for CI systems that count tests from a
 * run's closing lines and cannot read vitest's own summary. Used beside the verbose reporter (vitest.config.ts).
 */
import { writeSync } from 'node:fs';
import type { Reporter, SerializedError, TestModule, Vitest } from 'vitest/node';

export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
}

export const summaryLine = ({ passed, failed, skipped }: TestCounts): string => `tests: ${passed} passed, ${failed} failed, ${skipped} skipped`;

/**
 * Counts every test once. A file or hook that fails outside any test (an import error, a failing afterAll) and each
 * unhandled error count as one failed test, so a run that fails never reads "0 failed".
 */
export function countTests(modules: readonly TestModule[], unhandledErrors: readonly SerializedError[]): TestCounts {
  const counts: TestCounts = { passed: 0, failed: unhandledErrors.length, skipped: 0 };
  for (const module of modules) {
    for (const test of module.children.allTests()) {
      const { state } = test.result();
      // Tests an interrupted run never reached ("pending") did not run: skipped.
      counts[state === 'pending' ? 'skipped' : state]++;
    }
    for (const suite of [module, ...module.children.allSuites()]) if (suite.errors().length > 0) counts.failed++;
  }
  return counts;
}

export default class SummaryReporter implements Reporter {
  private watching = false;

  onInit(vitest: Vitest): void {
    this.watching = vitest.config.watch;
  }

  onTestRunEnd(modules: readonly TestModule[], unhandledErrors: readonly SerializedError[]): void {
    const line = `${summaryLine(countTests(modules, unhandledErrors))}\n`;
    // A single run writes it as the process exits, after anything printed while vitest closes (the workers' last
    // output, teardown errors, hang warnings); synchronously, as an exit handler must. Watch mode outlives its runs.
    if (this.watching) process.stdout.write(line);
    else process.once('exit', () => writeSync(process.stdout.fd, line));
  }
}
