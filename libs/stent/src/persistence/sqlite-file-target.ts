import type { SqlClient } from './clients/sql-client.js';
import { sqliteFileKey } from './data-source-target.js';
import type { DatabaseTarget, OpenConnection } from './database-target.js';
import { claimSqliteFile } from './sqlite-file-drivers.js';
import { localBusFor } from './wake-bus.js';

/**
 * A SQLite file Stent opens through a driver itself, without a TypeORM DataSource: one connection per
 * target, the file claimed for that driver in this process first. Subclasses say how their driver opens,
 * closes and runs statements on the file.
 */
export abstract class SqliteFileTarget<Db> implements DatabaseTarget {
  private db: Db | undefined;
  protected readonly fileKey: string;
  private release: (() => void) | undefined;

  constructor(
    protected readonly file: string,
    protected readonly busyTimeoutMs: number,
    private readonly driver: 'sqlite3' | 'better-sqlite3',
  ) {
    this.fileKey = sqliteFileKey(file);
  }

  protected abstract openFile(): Promise<Db>;
  protected abstract closeFile(db: Db): Promise<void>;
  protected abstract clientOf(db: Db): SqlClient;

  get isOpen(): boolean {
    return this.db !== undefined;
  }

  async open(): Promise<void> {
    if (this.db) return;
    // Refused before anything is opened: the file may be in use through the other driver in this process.
    this.release ??= claimSqliteFile(this.fileKey, this.driver);
    const db = await this.openFile();
    // An earlier attempt, given up on, may have opened the file meanwhile: one connection is enough.
    if (this.db) await this.closeFile(db);
    else this.db = db;
  }

  /** A late connection is kept: the next attempt uses it, close() closes it. */
  async discardLateOpen(): Promise<void> {}

  connection(): OpenConnection {
    if (!this.db) throw new Error('The SQLite database is not open');
    return { client: this.clientOf(this.db), bus: localBusFor(this.fileKey), fileKey: this.fileKey };
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.release?.();
    this.release = undefined;
    if (db) await this.closeFile(db);
  }
}
