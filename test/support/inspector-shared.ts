/** What the inspectors of the three drivers (better-sqlite3, sqlite3, pg) have in common. */

/** The tables an inspector names, unqualified as SQLite has them. */
export const SQLITE_TABLES = { steps: 'stent_steps', executions: 'stent_executions', deadLetters: 'stent_dead_letters', flowKeys: 'stent_flow_keys' };

/** An inspector's `scalar`: the first column of the first row `query` returns, as a number. */
export function scalarOf(query: <T>(sql: string, params?: unknown[]) => Promise<T[]>): (sql: string, params?: unknown[]) => Promise<number> {
  return async (sql, params) => Number(Object.values((await query<Record<string, unknown>>(sql, params))[0] ?? { v: NaN })[0]);
}

/**
 * True if another connection holds the SQLite file's write lock: with no busy timeout, taking the lock
 * ourselves fails at once with SQLITE_BUSY. The connection's timeout is put back to `busyTimeoutMs` after.
 */
export async function sqliteWriteLockHeld(setBusyTimeout: (ms: number) => void, run: (sql: string) => unknown, busyTimeoutMs = 5_000): Promise<boolean> {
  setBusyTimeout(0);
  try {
    await run('BEGIN IMMEDIATE');
    await run('ROLLBACK');
    return false;
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) return true;
    throw error;
  } finally {
    setBusyTimeout(busyTimeoutMs);
  }
}
