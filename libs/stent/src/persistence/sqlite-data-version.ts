import type { SqlExecutor } from './clients/sql-client.js';

/**
 * SQLite's `PRAGMA data_version` on the store's connection: it changes when another connection commits to
 * the file, never for this connection's own commits (which this process announces on its wake bus).
 * Answers HotPathStore.writesElsewhere.
 */
export async function sqliteDataVersion(client: SqlExecutor): Promise<number> {
  const [row] = await client.query<{ data_version: number | bigint }>('PRAGMA data_version');
  return Number(row?.data_version);
}
