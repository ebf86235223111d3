import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import { ConfigurationError } from '../core/index.js';
import { BetterSqlite3Client } from './clients/better-sqlite3-client.js';
import { SqliteFileTarget } from './sqlite-file-target.js';

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
export class BetterSqlite3Target extends SqliteFileTarget<Database> {
  constructor(file: string, busyTimeoutMs: number) {
    super(file, busyTimeoutMs, 'better-sqlite3');
  }

  protected async openFile(): Promise<Database> {
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
    return db;
  }

  protected async closeFile(db: Database): Promise<void> {
    db.close();
  }

  protected clientOf(db: Database): BetterSqlite3Client {
    return new BetterSqlite3Client(db, this.fileKey);
  }
}
