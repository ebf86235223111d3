import { ConfigurationError } from '../core/index.js';

/** Which SQLite driver this process's stores use for each file, and how many stores use it. */
const inUse = new Map<string, { driver: string; stores: number }>();

/**
 * Records that a store of this process uses `fileKey` through `driver`; refuses a second driver for the
 * same file. better-sqlite3 and sqlite3 each bring their own copy of SQLite, and two copies in one process
 * do not see each other's locks (POSIX locks belong to the process), so they would corrupt the file.
 * Returns the release to call when the store closes.
 */
export function claimSqliteFile(fileKey: string, driver: 'better-sqlite3' | 'sqlite3'): () => void {
  const current = inUse.get(fileKey);
  if (current && current.driver !== driver) {
    throw new ConfigurationError(
      `${fileKey.replace(/^sqlite:/, '')} is already open in this process through ${current.driver}; open it through ${driver} in another process, or use one driver (two copies of SQLite in one process corrupt a shared file)`,
    );
  }
  if (current) current.stores++;
  else inUse.set(fileKey, { driver, stores: 1 });
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const entry = inUse.get(fileKey);
    if (entry && --entry.stores === 0) inUse.delete(fileKey);
  };
}
