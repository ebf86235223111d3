import { storeClosedError } from '../store-closed.js';
import type { SqlClient, SqlExecutor } from './sql-client.js';

/**
 * One queue per database file for the whole process. Connections of one process must not wait for one
 * another inside SQLite: its busy handler sleeps synchronously, so a connection waiting for the write
 * lock would block the very event loop the lock holder needs to finish (a deadlock until busy_timeout).
 */
const fileQueues = new Map<string, { tail: Promise<unknown> }>();

function sqliteFileQueue(key: string): { tail: Promise<unknown> } {
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

/** A parameter as both SQLite drivers bind it: booleans as 0/1, undefined as NULL. */
export function bindable(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  return value;
}

/**
 * What the two SQLite clients share: every statement and transaction goes through the file's queue, so
 * statements of different callers never land inside one another's transaction, and each transaction
 * starts with BEGIN IMMEDIATE, so processes sharing the file take the write lock up front (waiting on
 * busy_timeout) instead of failing half-way. A driver supplies how to run one statement.
 */
export abstract class QueuedSqliteClient implements SqlClient {
  readonly dialect = 'sqlite' as const;

  constructor(
    /** Identifies the database file: connections to one file in this process take turns. */
    protected readonly fileKey: string,
    /** Told after each transaction or single write is committed (the WAL checkpointer counts them). */
    private readonly onCommit?: () => void,
  ) {}

  protected abstract queryNow<T>(sql: string, params: unknown[]): T[] | Promise<T[]>;
  protected abstract executeNow(sql: string, params: unknown[]): number | Promise<number>;
  /** Runs a statement without parameters or rows (BEGIN, COMMIT). */
  protected abstract control(sql: string): void | Promise<void>;
  /** Ends a transaction whose work or COMMIT failed. */
  protected abstract rollback(): void | Promise<void>;
  /** Runs `work` once the connection is Stent's to use (it may be shared with an application). */
  protected abstract inTurn<T>(work: () => Promise<T> | T): Promise<T> | T;
  /** Releases the prepared statements once nothing is queued any more. */
  protected abstract releaseStatements(): void | Promise<void>;

  /** Runs statements inside the transaction under way (the queue lets no other caller in meanwhile); one for all transactions. */
  private readonly tx: SqlExecutor = {
    query: async <R>(sql: string, params: unknown[] = []) => this.queryNow<R>(sql, params),
    execute: async (sql: string, params: unknown[] = []) => this.executeNow(sql, params),
  };

  /**
   * Set when close() begins. A statement asked for later is refused rather than queued: it would run after
   * the statements are released (a sqlite3 Statement finalized under a waiting call never calls it back) or
   * prepare a new one, and the connection would not close (SQLITE_BUSY) and keep the file open.
   */
  private closing = false;

  private exclusive<T>(work: () => Promise<T> | T): Promise<T> {
    if (this.closing) return Promise.reject(storeClosedError());
    return withSqliteFile(this.fileKey, () => this.inTurn(work));
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.exclusive(() => this.queryNow<T>(sql, params));
  }

  execute(sql: string, params: unknown[] = []): Promise<number> {
    if (!this.onCommit) return this.exclusive(() => this.executeNow(sql, params));
    return this.exclusive(async () => {
      const changed = await this.executeNow(sql, params);
      this.onCommit?.();
      return changed;
    });
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      // A synchronous driver's BEGIN and COMMIT are not awaited: awaiting what they return (undefined) cost
      // promises and a microtask each, at every journal write, for nothing (the queue lets no one in meanwhile).
      const begun = this.control('BEGIN IMMEDIATE');
      if (begun) await begun;
      try {
        const result = await work(this.tx);
        const committed = this.control('COMMIT');
        if (committed) await committed;
        this.onCommit?.();
        return result;
      } catch (error) {
        await this.rollback();
        throw error;
      }
    });
  }

  /** Finishes what is queued and releases the statements; the connection is closed by whoever opened it. */
  async close(): Promise<void> {
    this.closing = true;
    // What this client queued before is in the queue now: it runs to its end first.
    await sqliteFileQueue(this.fileKey).tail;
    await this.releaseStatements();
  }
}
