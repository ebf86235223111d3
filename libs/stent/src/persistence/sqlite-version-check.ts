import type { SqlExecutor } from './clients/sql-client.js';

/** The first SQLite release without the WAL-reset bug (https://sqlite.org/wal.html#walresetbug). */
const FIXED = [3, 51, 3] as const;

/**
 * Whether a SQLite version has the WAL-reset bug: from 3.7.0 to 3.51.2, two connections that checkpoint
 * and write at the same moment can leave the WAL index wrong and corrupt the file ("database disk image is
 * malformed"). Several workers on one file, each with a checkpointer thread, is that pattern.
 */
export function hasWalResetBug(version: string): boolean {
  const parts = version.split('.').map((part) => Number.parseInt(part, 10));
  for (let i = 0; i < FIXED.length; i++) {
    const part = parts[i] ?? 0;
    if (part !== FIXED[i]) return part < FIXED[i]!;
  }
  return false;
}

/** Warns, when a store opens its SQLite database, the driver's SQLite library has the WAL-reset bug. */
export async function warnOfWalResetBug(client: SqlExecutor, logger: { warn(message: string): void } | undefined): Promise<void> {
  if (!logger) return;
  try {
    const [row] = await client.query<{ version: string }>('SELECT sqlite_version() AS version');
    if (row && hasWalResetBug(row.version)) {
      logger.warn(
        `Stent: this SQLite library is version ${row.version}, which can corrupt a WAL database written by several connections at once ` +
          '(the WAL-reset bug, fixed in 3.51.3). Upgrade the driver: better-sqlite3 12.8 or later, sqlite3 6.0.1 or later.',
      );
    }
  } catch {
    // Closed before it answered: nothing to warn about.
  }
}
