import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A SQLite file in a directory of its own, removed by dispose(). */
export function tempDatabase(): { file: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'stent-compat-'));
  return { file: join(dir, 'app.db'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
