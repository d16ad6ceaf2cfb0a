import { defineConfig } from 'vitest/config';
import SummaryReporter from './test/summary-reporter.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Model inference is CPU-bound: two workers match the 2-core CI machines.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The per-test listing, then one plain closing line CI can count tests from.
    reporters: ['verbose', new SummaryReporter()],
  },
});
