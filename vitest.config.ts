import { defineConfig } from 'vitest/config';

// Tests run on the tsc output (dist/), so decorator metadata and ESM resolution are exactly
// what users get; `npm test` builds first.
export default defineConfig({
  test: {
    include: ['dist/test/**/*.test.js'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default', './vitest.summary-reporter.ts'],
  },
});
