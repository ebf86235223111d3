import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './vitest.sequencer.js';

// Tests run on the tsc output (dist/), so decorator metadata and ESM resolution are exactly
// what users get; `npm test` builds first.
export default defineConfig({
  test: {
    include: ['dist/test/**/*.test.js'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Test files share their worker's module cache: loading Nest, TypeORM and the engine once per worker
    // instead of once per file saves minutes on a loaded machine. Every file sets up and disposes its own
    // databases, executors and processes, and fixture state is reset by the file that uses it.
    isolate: false,
    fileParallelism: true,
    maxWorkers: 3,
    sequence: { sequencer: LongestFirstSequencer },
    // Bundles the programs the process tests spawn, which then start in half the CPU (see the file).
    globalSetup: ['./vitest.worker-bundle.ts'],
    reporters: ['default', './vitest.summary-reporter.ts'],
  },
});
