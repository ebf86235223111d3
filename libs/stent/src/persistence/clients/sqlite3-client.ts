import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigurationError } from '../../core/index.js';
import { bindable, QueuedSqliteClient } from './queued-sqlite-client.js';

/** What a finished `run` reports (the driver sets it as the callback's `this`). */
interface RunContext {
  changes: number;
}
type RunCallback = (this: RunContext, error: Error | null) => void;
type RowsCallback = (error: Error | null, rows: unknown[]) => void;

/** The part of a `sqlite3` Statement this client uses. */
interface Sqlite3Statement {
  all(params: unknown[], callback: RowsCallback): unknown;
  run(params: unknown[], callback: RunCallback): unknown;
  finalize(callback?: (error: Error | null) => void): unknown;
}

/**
 * The part of a `sqlite3` Database this client uses. The package is an optional peer: it is described
 * here rather than imported, so applications without it build and start.
 */
export interface Sqlite3Database {
  prepare(sql: string, callback: (error: Error | null) => void): Sqlite3Statement;
  run(sql: string, params: unknown[], callback: RunCallback): unknown;
  all(sql: string, params: unknown[], callback: RowsCallback): unknown;
  configure(option: 'busyTimeout', value: number): void;
  close(callback: (error: Error | null) => void): void;
}

interface Sqlite3Module {
  Database: new (file: string, callback: (error: Error | null) => void) => Sqlite3Database;
}

/** Loads the `sqlite3` package on first use only. */
async function loadSqlite3(): Promise<Sqlite3Module> {
  const name = 'sqlite3';
  try {
    const loaded = (await import(name)) as { default?: Sqlite3Module } & Sqlite3Module;
    return loaded.default ?? loaded;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ConfigurationError("database type 'sqlite' needs the sqlite3 package: npm install sqlite3", { cause: error });
    }
    throw error;
  }
}

function runOn(db: Sqlite3Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, [], (error) => (error ? reject(error) : resolve())));
}

/**
 * Opens a SQLite file with the `sqlite3` package the way Stent opens one with better-sqlite3: WAL (so
 * readers of other processes never wait for a writer), a busy timeout for the write lock, and
 * synchronous=NORMAL (durable at each checkpoint, safe against corruption).
 */
export async function openSqlite3Database(file: string, busyTimeoutMs: number): Promise<Sqlite3Database> {
  const sqlite3 = await loadSqlite3();
  const inMemory = file === ':memory:' || file === '';
  if (!inMemory) await mkdir(dirname(file), { recursive: true });
  const db = await new Promise<Sqlite3Database>((resolve, reject) => {
    const opened: Sqlite3Database = new sqlite3.Database(file, (error) => (error ? reject(error) : resolve(opened)));
  });
  try {
    db.configure('busyTimeout', busyTimeoutMs);
    if (!inMemory) await runOn(db, 'PRAGMA journal_mode = WAL');
    await runOn(db, 'PRAGMA synchronous = NORMAL');
  } catch (error) {
    await closeSqlite3Database(db).catch(() => undefined);
    throw error;
  }
  return db;
}

export function closeSqlite3Database(db: Sqlite3Database): Promise<void> {
  return new Promise((resolve, reject) => db.close((error) => (error ? reject(error) : resolve())));
}

/** Gives a connection shared with the application the busy timeout Stent relies on. */
export function shareSqlite3Database(db: Sqlite3Database, busyTimeoutMs: number): void {
  db.configure('busyTimeout', busyTimeoutMs);
}

/**
 * SQLite through the asynchronous `sqlite3` package (TypeORM's `type: 'sqlite'`). One connection runs
 * statements one at a time, and this process's connections to one file take turns (QueuedSqliteClient's
 * queue, shared with better-sqlite3): a connection waiting for the write lock holds a thread of libuv's
 * small pool, so waiting inside the process could starve the lock holder of the thread it needs to commit.
 */
export class Sqlite3Client extends QueuedSqliteClient {
  private readonly statements = new Map<string, Sqlite3Statement>();
  /** Statements dropped from the cache and still being finalized (close() waits for them). */
  private finalizing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Sqlite3Database,
    fileKey: string,
    /** Shared with an application's DataSource: runs an operation in Stent's turn on the connection. */
    private readonly sharedTurn?: <T>(work: () => Promise<T>) => Promise<T>,
  ) {
    super(fileKey);
  }

  private async statement(sql: string): Promise<Sqlite3Statement | undefined> {
    // Long texts are one-off batches (many rows of values): preparing them once is all they need.
    if (sql.length > 4_000) return undefined;
    const cached = this.statements.get(sql);
    if (cached) return cached;
    // Prepared with a callback and awaited: the driver reports a failed prepare only there (without a
    // callback it throws it out of band), and never calls back the statements queued on it.
    const statement = await new Promise<Sqlite3Statement>((resolve, reject) => {
      const prepared: Sqlite3Statement = this.db.prepare(sql, (error) => (error ? reject(error) : resolve(prepared)));
    });
    if (this.statements.size >= 200) this.finalizing = Promise.all([this.finalizing, this.forgetStatements()]).then(() => undefined);
    this.statements.set(sql, statement);
    return statement;
  }

  /** Finalizes every cached statement (a connection closes only once none is left). */
  private forgetStatements(): Promise<void> {
    const finalized = [...this.statements.values()].map((statement) => new Promise<void>((done) => statement.finalize(() => done())));
    this.statements.clear();
    return Promise.all(finalized).then(() => undefined);
  }

  /** A statement that failed (to prepare, or against a schema it no longer fits) is prepared again next time. */
  private forget(sql: string): void {
    const statement = this.statements.get(sql);
    if (!statement) return;
    this.statements.delete(sql);
    this.finalizing = Promise.all([this.finalizing, new Promise<void>((done) => statement.finalize(() => done()))]).then(() => undefined);
  }

  protected async queryNow<T>(sql: string, params: unknown[]): Promise<T[]> {
    const values = params.map(bindable);
    const statement = await this.statement(sql);
    return new Promise((resolve, reject) => {
      const done: RowsCallback = (error, rows) => {
        if (error) {
          this.forget(sql);
          reject(error);
        } else resolve(rows as T[]);
      };
      if (statement) statement.all(values, done);
      else this.db.all(sql, values, done);
    });
  }

  protected async executeNow(sql: string, params: unknown[]): Promise<number> {
    const values = params.map(bindable);
    const forget = (failed: string) => this.forget(failed);
    const statement = await this.statement(sql);
    return new Promise((resolve, reject) => {
      const done: RunCallback = function (error) {
        if (error) {
          forget(sql);
          reject(error);
        } else resolve(this.changes);
      };
      if (statement) statement.run(values, done);
      else this.db.run(sql, values, done);
    });
  }

  protected control(sql: string): Promise<void> {
    return runOn(this.db, sql);
  }

  protected async rollback(): Promise<void> {
    // Also after a failed COMMIT; when nothing is open any more, SQLite says so and that is fine.
    await runOn(this.db, 'ROLLBACK').catch(() => undefined);
  }

  protected inTurn<T>(work: () => Promise<T> | T): Promise<T> {
    const run = async () => work();
    return this.sharedTurn ? this.sharedTurn(run) : run();
  }

  protected async releaseStatements(): Promise<void> {
    await this.forgetStatements();
    await this.finalizing;
  }
}
