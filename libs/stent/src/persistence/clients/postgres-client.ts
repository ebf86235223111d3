import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { DatabaseUnavailableError } from '../../core/index.js';
import { isConnectionError, markNotApplied, wasNotApplied } from './connection-errors.js';
import { numberedPlaceholders, type SqlClient, type SqlExecutor } from './sql-client.js';
import { withArrayLiterals } from './postgres-array-literal.js';

/**
 * What the client derives from a statement's text once: the text with numbered placeholders, the name it
 * is prepared under (undefined: sent unnamed) and whether running it twice is harmless (it only reads).
 */
interface StatementShape {
  readonly text: string;
  readonly name: string | undefined;
  readonly repeatable: boolean;
}

/**
 * Short statements are sent as named (prepared) statements: each connection parses and plans them once,
 * which on a busy server is most of what a one-row statement costs. Statements selecting `*` (a bare
 * `*` or `alias.*`) stay unnamed, so a migration that adds columns cannot break the cached plan of a
 * worker that is still running. Only a star in a select list counts, not a multiplication such as the
 * lease clock's (Dialect.leaseNow): a statement sent unnamed is planned at every send, which for the
 * step write would be most of the server's CPU per step.
 */
const SELECTS_STAR = /(?:\bSELECT\s+(?:DISTINCT\s+)?|\bRETURNING\s+|,\s*|\.)\*/i;

/** The name a statement is prepared under, or undefined to send it unnamed (parsed and planned each time). */
export function statementName(text: string, paramCount: number): string | undefined {
  if (paramCount > 100 || SELECTS_STAR.test(text)) return undefined;
  return `stent_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
}

/** A statement that only reads (or only notifies): running it twice changes nothing. */
const repeatable = (sql: string) => /^\s*SELECT\b/i.test(sql) && !/\bFOR\s+(UPDATE|SHARE|NO KEY UPDATE)\b/i.test(sql);

// Keyed by the statement as the repositories write it: the regular expressions and the hash run once per
// shape, not at every send, which on a sequential step's path was a measurable share of the process's CPU.
// A wide statement (more than 100 parameters: a batch of many rows, sent unnamed) is not kept: its text
// runs to hundreds of kilobytes for a thousand rows, each row count is a shape of its own, and keeping
// them held a fan-out's statements (key and numbered text) for the life of the process, while rewriting
// one costs little beside sending it.
const shapes = new Map<string, StatementShape>();

function shapeOf(sql: string, paramCount: number): StatementShape {
  if (paramCount > 100) return { text: numberedPlaceholders(sql), name: undefined, repeatable: repeatable(sql) };
  let shape = shapes.get(sql);
  if (shape === undefined) {
    const text = numberedPlaceholders(sql);
    shape = { text, name: statementName(text, paramCount), repeatable: repeatable(sql) };
    if (shapes.size > 2000) shapes.clear();
    shapes.set(sql, shape);
  }
  return shape;
}

function pgSql(sql: string): string {
  return shapeOf(sql, 0).text;
}

type QueryResult = { rows: unknown[]; rowCount: number | null };
type SubmittableQuery = { name?: string; callback?: (error: Error | null, result: QueryResult) => void };
type QueryClass = new (text: string, values: unknown[]) => SubmittableQuery;

/**
 * pg's own Query class, when the connection is pg's JavaScript client: a statement built from it directly
 * skips what `client.query(config)` does with a config object (a property-by-property copy of the object
 * and a second promise to rewrite an error's stack), about a tenth of the driver's CPU per statement.
 */
function queryClassOf(client: PoolClient): QueryClass | undefined {
  const Query = (client.constructor as { Query?: { prototype: Record<string, unknown> } }).Query;
  return Query && typeof Query.prototype.prepare === 'function' && typeof Query.prototype.handleDataRow === 'function'
    ? (Query as unknown as QueryClass)
    : undefined;
}

function run(client: PoolClient, sql: string, given: unknown[]): Promise<QueryResult> {
  const { text, name } = shapeOf(sql, given.length);
  const params = withArrayLiterals(given);
  const Query = name ? queryClassOf(client) : undefined;
  if (!Query) return (name ? client.query({ name, text, values: params }) : client.query(text, params)) as Promise<QueryResult>;
  return new Promise((resolve, reject) => {
    const query = new Query(text, params);
    query.name = name;
    query.callback = (error, result) => (error ? reject(error) : resolve(result));
    client.query(query as never);
  });
}

function executorOf(client: PoolClient): SqlExecutor {
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      return (await run(client, sql, params)).rows as T[];
    },
    async execute(sql: string, params: unknown[] = []): Promise<number> {
      return (await run(client, sql, params)).rowCount ?? 0;
    },
  };
}

const guarded = new WeakSet<Pool>();
const ignore = () => undefined;

/**
 * Gives every connection of the pool an 'error' listener for its whole life. The pool listens to its
 * idle connections, and whoever borrows one is expected to listen while holding it, but there is a gap:
 * when the server sends "ready" and then "terminating connection" in one packet (a restart while a
 * connection opens), the error is emitted before the borrower's promise continuation could add its
 * listener, and an 'error' nobody listens to ends the process.
 */
export function guardPool(pool: Pool): void {
  if (guarded.has(pool)) return;
  guarded.add(pool);
  for (const client of (pool as unknown as { _clients?: PoolClient[] })._clients ?? []) client.on('error', ignore);
  pool.on('connect', (client) => client.on('error', ignore));
  if (pool.listenerCount('error') === 0) pool.on('error', ignore);
}

export interface PostgresClientOptions {
  /**
   * How long an operation cut by a lost connection keeps being tried again (when that is safe: its
   * statement never reached the server, its transaction never committed, or it only reads) before it
   * fails with DatabaseUnavailableError. Default 5000 ms.
   */
  retryWindowMs?: number;
}

/**
 * PostgreSQL through a pg Pool (usually the one TypeORM's DataSource already holds).
 *
 * Every connection Stent borrows carries an 'error' listener while it is out of the pool (the pool's own
 * listener covers it while idle): a server restart or a terminated backend otherwise emits an 'error'
 * nobody handles and Node exits. An operation the lost connection cut fails with DatabaseUnavailableError,
 * after being tried again for a while where that cannot apply it twice.
 */
export class PostgresClient implements SqlClient {
  readonly dialect = 'postgres' as const;
  private readonly retryWindowMs: number;

  constructor(
    private readonly pool: Pool,
    private readonly ownsPool: boolean,
    options: PostgresClientOptions = {},
  ) {
    this.retryWindowMs = options.retryWindowMs ?? 5_000;
    guardPool(pool);
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.retrying(shapeOf(sql, params.length).repeatable, () => this.borrowed(async (client) => (await run(client, sql, params)).rows as T[]));
  }

  execute(sql: string, params: unknown[] = []): Promise<number> {
    return this.retrying(false, () => this.borrowed(async (client) => (await run(client, sql, params)).rowCount ?? 0));
  }

  /** Retries a transaction PostgreSQL aborted to break a deadlock or a serialization conflict, or that a lost connection cut before its commit. */
  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.retrying(false, () => this.transactionOnce(work));
      } catch (error) {
        const code = (error as { code?: string }).code;
        if ((code !== '40P01' && code !== '40001') || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  private async transactionOnce<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.borrowed(async (client) => {
      let committing = false;
      try {
        await client.query('BEGIN');
        const result = await work(executorOf(client));
        committing = true;
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // Without a COMMIT the server rolls the transaction back, also when the connection died under it.
        if (!committing) {
          markNotApplied(error);
          await client.query('ROLLBACK').catch(() => undefined);
        }
        throw error;
      }
    });
  }

  /**
   * Runs `use` on a connection of its own, listening for the connection's errors meanwhile; a connection
   * that broke goes back to the pool marked as such (the pool then drops it).
   */
  private async borrowed<T>(use: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      markNotApplied(error);
      throw error;
    }
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken ??= error;
    };
    client.on('error', onError);
    try {
      return await use(client);
    } catch (error) {
      if (isConnectionError(error)) broken ??= error as Error;
      throw error;
    } finally {
      client.release(broken);
      client.off('error', onError);
    }
  }

  /**
   * Runs `operation`, trying again with back-off while it fails for a lost connection in a way that is
   * safe to repeat, for up to retryWindowMs; then (or at once when repeating is not safe) fails with
   * DatabaseUnavailableError. Other errors pass through unchanged.
   */
  private async retrying<T>(repeatableStatement: boolean, operation: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.retryWindowMs;
    for (let attempt = 1, pause = 50; ; attempt++, pause = Math.min(pause * 2, 1_000)) {
      try {
        return await operation();
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        const safe = repeatableStatement || wasNotApplied(error);
        if (!safe || Date.now() + pause > deadline) {
          throw new DatabaseUnavailableError('Stent lost its connection to PostgreSQL', { cause: error, attempts: attempt, ambiguous: !safe });
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}

/** Runs statements on a transaction the application opened (a TypeORM EntityManager). */
export function externalExecutor(manager: { query(sql: string, params?: unknown[]): Promise<unknown> }, dialect: 'sqlite' | 'postgres'): SqlExecutor {
  // TypeORM 0.3's sqlite driver runs a statement that starts with "INSERT " without reading its rows, so
  // a RETURNING clause would come back empty; a leading space sends it down the path that reads them.
  const text = (sql: string) => (dialect === 'postgres' ? pgSql(sql) : /\bRETURNING\b/i.test(sql) ? ` ${sql}` : sql);
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      const rows = await manager.query(text(sql), params);
      return (Array.isArray(rows) ? rows : []) as T[];
    },
    async execute(sql: string, params: unknown[] = []): Promise<number> {
      const raw = await manager.query(text(sql), params);
      if (Array.isArray(raw) && raw.length === 2 && typeof raw[1] === 'number') return raw[1];
      if (raw && typeof raw === 'object' && 'changes' in raw) return Number((raw as { changes: number }).changes);
      return Array.isArray(raw) ? raw.length : 0;
    },
  };
}
