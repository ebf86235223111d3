import type { SqlExecutor } from './clients/sql-client.js';

/**
 * SQLite's `PRAGMA data_version` on the store's connection: it changes when another connection commits to
 * the file, never for this connection's own commits (which this process announces on its wake bus).
 * Answers HotPathStore.changedElsewhere.
 */
export class SqliteDataVersion {
  private last: number | undefined;

  constructor(private readonly client: SqlExecutor) {}

  /** Whether another connection committed since the last call; the first call takes a reading and says false. */
  async changed(): Promise<boolean> {
    const [row] = await this.client.query<{ data_version: number | bigint }>('PRAGMA data_version');
    const version = Number(row?.data_version);
    const changed = this.last !== undefined && version !== this.last;
    this.last = version;
    return changed;
  }
}
