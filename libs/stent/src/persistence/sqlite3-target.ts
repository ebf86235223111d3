import { Sqlite3Client, closeSqlite3Database, openSqlite3Database, type Sqlite3Database } from './clients/sqlite3-client.js';
import { sqliteFileKey } from './data-source-target.js';
import type { DatabaseTarget, OpenConnection } from './database-target.js';
import { claimSqliteFile } from './sqlite-file-drivers.js';
import { localBusFor } from './wake-bus.js';

/**
 * A SQLite file Stent opens with the `sqlite3` package for `database: { type: 'sqlite' }`, without a
 * TypeORM DataSource: TypeORM 1.x dropped its sqlite3 driver, and Stent needs nothing of TypeORM here.
 */
export class Sqlite3Target implements DatabaseTarget {
  private db: Sqlite3Database | undefined;
  private readonly fileKey: string;
  private release: (() => void) | undefined;

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs: number,
  ) {
    this.fileKey = sqliteFileKey(file);
  }

  get isOpen(): boolean {
    return this.db !== undefined;
  }

  async open(): Promise<void> {
    if (this.db) return;
    // Refused before anything is opened: the file may be in use through better-sqlite3 in this process.
    this.release ??= claimSqliteFile(this.fileKey, 'sqlite3');
    const db = await openSqlite3Database(this.file, this.busyTimeoutMs);
    // An earlier attempt, given up on, may have opened the file meanwhile: one connection is enough.
    if (this.db) await closeSqlite3Database(db);
    else this.db = db;
  }

  /** A late connection is kept: the next attempt uses it, close() closes it. */
  async discardLateOpen(): Promise<void> {}

  connection(): OpenConnection {
    if (!this.db) throw new Error('The SQLite database is not open');
    return { client: new Sqlite3Client(this.db, this.fileKey), bus: localBusFor(this.fileKey), fileKey: this.fileKey };
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.release?.();
    this.release = undefined;
    if (db) await closeSqlite3Database(db);
  }
}
