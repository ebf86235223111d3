import { statSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Folders of dist/test whose files spawn processes, browsers or npm: 20-110 s a file on a loaded machine,
 * where most other files take a few seconds.
 */
const SLOW_FOLDERS = new Set(['e2e', 'install', 'cli', 'samples', 'dashboard']);
const SLOW_GUESS_MS = 30_000;
const OTHER_GUESS_MS = 5_000;

/**
 * Longest files first, so the two workers do not end with one of them running a long file alone. A file's
 * length is its duration in vitest's results cache (a machine that ran the suite before); without one (a
 * fresh clone, as in CI) a guess by folder, larger files first within a guess.
 */
export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const root = this.ctx.config.root;
    const estimate = new Map<TestSpecification, { ms: number; size: number }>();
    for (const file of files) {
      const path = relative(root, file.moduleId);
      const cached = cache.getFileTestResults(`${file.project.name}:${path}`);
      const folder = path.split(sep)[2] ?? '';
      const guess = SLOW_FOLDERS.has(folder) ? SLOW_GUESS_MS : OTHER_GUESS_MS;
      estimate.set(file, { ms: cached?.duration ?? guess, size: sizeOf(file.moduleId) });
    }
    return [...files].sort((a, b) => estimate.get(b)!.ms - estimate.get(a)!.ms || estimate.get(b)!.size - estimate.get(a)!.size);
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
