import type { Database, Statement } from 'better-sqlite3';
import { bindable, QueuedSqliteClient } from './queued-sqlite-client.js';
import { SqliteRowShapes } from './sqlite-row-shapes.js';

export interface BetterSqlite3ClientOptions {
  /** Told after each commit (the WAL checkpointer counts them). */
  onCommit?: () => void;
  /** The connection is Stent's alone (not an application DataSource's), so no transaction of others can be open on it. */
  ownsConnection?: boolean;
}

/**
 * SQLite through better-sqlite3: synchronous, one connection, so statements of different callers must not
 * interleave inside a transaction; the queue and transactions are QueuedSqliteClient's.
 */
export class BetterSqlite3Client extends QueuedSqliteClient {
  private readonly statements = new Map<string, Statement>();
  private readonly rows = new SqliteRowShapes();
  constructor(
    private readonly db: Database,
    fileKey: string,
    private readonly options: BetterSqlite3ClientOptions = {},
  ) {
    super(fileKey, options.onCommit);
  }

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

  protected queryNow<T>(sql: string, params: unknown[]): T[] {
    const statement = this.statement(sql);
    if (statement.reader) return this.rows.all(statement, params.map(bindable)) as T[];
    statement.run(...params.map(bindable));
    return [];
  }

  protected executeNow(sql: string, params: unknown[]): number {
    return this.statement(sql).run(...params.map(bindable)).changes;
  }

  protected control(sql: string): void {
    this.statement(sql).run();
  }

  protected rollback(): void {
    if (this.db.inTransaction) this.statement('ROLLBACK').run();
  }

  protected inTurn<T>(work: () => Promise<T> | T): Promise<T> | T {
    // A connection of Stent's own has no transaction open between the queue's turns: no check per statement.
    if (this.options.ownsConnection) return work();
    return this.afterApplicationTransaction(work);
  }

  /** On a connection shared with the application's DataSource, waits out its open transaction instead of writing into it. */
  private async afterApplicationTransaction<T>(work: () => Promise<T> | T): Promise<T> {
    while (this.db.inTransaction) await new Promise((resolve) => setTimeout(resolve, 2));
    return work();
  }

  protected releaseStatements(): void {
    this.statements.clear();
  }
}
