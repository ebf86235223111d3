import type { Database, Statement } from 'better-sqlite3';
import type { SqlClient, SqlExecutor } from './sql-client.js';

/**
 * One queue per database file for the whole process. Connections of one process must not wait for one
 * another inside SQLite: its busy handler sleeps synchronously, so a connection waiting for the write
 * lock would block the very event loop the lock holder needs to finish (a deadlock until busy_timeout).
 */
const fileQueues = new Map<string, { tail: Promise<unknown> }>();

export function sqliteFileQueue(key: string): { tail: Promise<unknown> } {
  let queue = fileQueues.get(key);
  if (!queue) {
    queue = { tail: Promise.resolve() };
    fileQueues.set(key, queue);
  }
  return queue;
}

/** Runs `work` when no other connection of this process works on the same file. */
export function withSqliteFile<T>(key: string, work: () => Promise<T> | T): Promise<T> {
  const queue = sqliteFileQueue(key);
  const next = queue.tail.then(work, work);
  queue.tail = next.catch(() => undefined);
  return next;
}

/**
 * better-sqlite3 is synchronous and has one connection, so statements of different callers must not
 * interleave inside a transaction: every statement and transaction goes through one queue. Each
 * transaction starts with BEGIN IMMEDIATE, so processes sharing the file take the write lock up front
 * (and wait on busy_timeout) instead of failing half-way.
 */
export class BetterSqlite3Client implements SqlClient {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Statement>();
  constructor(
    private readonly db: Database,
    /** Identifies the database file: connections to one file in this process take turns. */
    private readonly fileKey: string,
  ) {}

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      // Long texts are one-off batches (many rows of values): caching them only holds native memory.
      if (sql.length <= 4_000) {
        if (this.statements.size >= 200) this.statements.clear();
        this.statements.set(sql, statement);
      }
    }
    return statement;
  }

  private queryNow<T>(sql: string, params: unknown[]): T[] {
    const statement = this.statement(sql);
    if (statement.reader) return statement.all(...params.map(bindable)) as T[];
    statement.run(...params.map(bindable));
    return [];
  }

  private executeNow(sql: string, params: unknown[]): number {
    return this.statement(sql).run(...params.map(bindable)).changes;
  }

  private exclusive<T>(work: () => Promise<T> | T): Promise<T> {
    const run = async () => {
      // When the connection is shared with the application's DataSource, wait out its open transaction
      // instead of writing into it.
      while (this.db.inTransaction) await new Promise((resolve) => setTimeout(resolve, 2));
      return work();
    };
    return withSqliteFile(this.fileKey, run);
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.exclusive(() => this.queryNow<T>(sql, params));
  }

  execute(sql: string, params: unknown[] = []): Promise<number> {
    return this.exclusive(() => this.executeNow(sql, params));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const tx: SqlExecutor = {
        query: async <R>(sql: string, params: unknown[] = []) => this.queryNow<R>(sql, params),
        execute: async (sql: string, params: unknown[] = []) => this.executeNow(sql, params),
      };
      this.statement('BEGIN IMMEDIATE').run();
      try {
        const result = await work(tx);
        this.statement('COMMIT').run();
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.statement('ROLLBACK').run();
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    await sqliteFileQueue(this.fileKey).tail;
    this.statements.clear();
  }
}

function bindable(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  return value;
}
