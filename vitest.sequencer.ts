import { readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Guesses for a file in neither vitest's cache nor test/durations.json (a new file): the folders whose
 * files spawn processes, browsers or npm take 15-60 s a file on a loaded machine, most others a few seconds.
 */
const SLOW_FOLDERS = new Set(['e2e', 'install', 'cli', 'samples', 'dashboard']);
const SLOW_GUESS_MS = 30_000;
const OTHER_GUESS_MS = 5_000;

/**
 * Longest files first, so the workers do not end with one of them running a long file alone. A file's
 * length is its duration in vitest's results cache (a machine that ran the suite before); without one (a
 * fresh clone, as in CI) its duration measured in a loaded run, kept in test/durations.json (written by
 * scripts/test-durations.ts); for a file in neither, a guess by folder, larger files first within a guess.
 */
export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const root = this.ctx.config.root;
    const measured = readDurations(join(root, 'test', 'durations.json'));
    const estimate = new Map<TestSpecification, { ms: number; size: number }>();
    for (const file of files) {
      const path = relative(root, file.moduleId);
      const cached = cache.getFileTestResults(`${file.project.name}:${path}`)?.duration;
      // dist/test/<folder>/<file>: the table is keyed by the path under dist/test.
      const parts = path.split(sep);
      const listed = measured[parts.slice(2).join('/')];
      const guess = SLOW_FOLDERS.has(parts[2] ?? '') ? SLOW_GUESS_MS : OTHER_GUESS_MS;
      estimate.set(file, { ms: cached ?? (listed === undefined ? guess : listed * 1000), size: sizeOf(file.moduleId) });
    }
    return [...files].sort((a, b) => estimate.get(b)!.ms - estimate.get(a)!.ms || estimate.get(b)!.size - estimate.get(a)!.size);
  }
}

function readDurations(path: string): Record<string, number> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
