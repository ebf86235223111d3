import type { Database, Statement } from 'better-sqlite3';
import type { SqlClient, SqlExecutor } from './sql-client.js';

/**
 * better-sqlite3 is synchronous and has one connection, so statements of different callers must not
 * interleave inside a transaction: every statement and transaction goes through one queue. Each
 * transaction starts with BEGIN IMMEDIATE, so processes sharing the file take the write lock up front
 * (and wait on busy_timeout) instead of failing half-way.
 */
export class BetterSqlite3Client implements SqlClient {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Statement>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: Database) {}

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, statement);
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
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
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
      this.db.prepare('BEGIN IMMEDIATE').run();
      try {
        const result = await work(tx);
        this.db.prepare('COMMIT').run();
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.prepare('ROLLBACK').run();
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    await this.queue;
    this.statements.clear();
  }
}

function bindable(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  return value;
}
