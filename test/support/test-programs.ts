import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The file to run for one of the programs the tests spawn, by its path under dist/test (e.g.
 * 'support/worker-main.js'): its bundled copy when the run bundled them (vitest.worker-bundle.ts sets
 * STENT_TEST_PROGRAMS), else the built file itself.
 */
export function testProgram(path: string): string {
  const bundled = process.env.STENT_TEST_PROGRAMS;
  return bundled ? join(bundled, path) : fileURLToPath(new URL(`../${path}`, import.meta.url));
}
