import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import { ConfigurationError } from '../core/index.js';
import { BetterSqlite3Client } from './clients/better-sqlite3-client.js';
import { sqliteFileKey } from './data-source-target.js';
import type { DatabaseTarget, OpenConnection } from './database-target.js';
import { claimSqliteFile } from './sqlite-file-drivers.js';
import { localBusFor } from './wake-bus.js';

type BetterSqlite3Constructor = new (file: string, options: { timeout: number }) => Database;

/** Loads `better-sqlite3` on first use only (an optional peer dependency). */
async function loadBetterSqlite3(): Promise<BetterSqlite3Constructor> {
  const name = 'better-sqlite3';
  try {
    const loaded = (await import(name)) as { default: BetterSqlite3Constructor };
    return loaded.default;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ConfigurationError("database type 'better-sqlite3' needs the better-sqlite3 package: npm install better-sqlite3", { cause: error });
    }
    throw error;
  }
}

/**
 * A SQLite file Stent opens with `better-sqlite3` itself for `database: { type: 'better-sqlite3' }`. It is
 * opened as TypeORM's driver opened it (directory created, busy timeout, foreign keys, WAL, synchronous=
 * NORMAL), but without loading TypeORM: a process that only runs Stent (a worker, the CLI) starts in
 * about half the CPU time.
 */
export class BetterSqlite3Target implements DatabaseTarget {
  private db: Database | undefined;
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
    // Refused before anything is opened: the file may be in use through sqlite3 in this process.
    this.release ??= claimSqliteFile(this.fileKey, 'better-sqlite3');
    const BetterSqlite3 = await loadBetterSqlite3();
    const inMemory = this.file === ':memory:' || this.file === '';
    if (!inMemory) await mkdir(dirname(this.file), { recursive: true });
    const db = new BetterSqlite3(this.file, { timeout: this.busyTimeoutMs });
    try {
      db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      if (!inMemory) db.pragma('journal_mode = WAL');
    } catch (error) {
      db.close();
      throw error;
    }
    // An earlier attempt, given up on, may have opened the file meanwhile: one connection is enough.
    if (this.db) db.close();
    else this.db = db;
  }

  /** A late connection is kept: the next attempt uses it, close() closes it. */
  async discardLateOpen(): Promise<void> {}

  connection(): OpenConnection {
    if (!this.db) throw new Error('The SQLite database is not open');
    return { client: new BetterSqlite3Client(this.db, this.fileKey), bus: localBusFor(this.fileKey), fileKey: this.fileKey };
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.release?.();
    this.release = undefined;
    db?.close();
  }
}
