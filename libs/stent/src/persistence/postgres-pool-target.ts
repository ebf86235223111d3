import type { Pool, PoolConfig } from 'pg';
import { ConfigurationError } from '../core/index.js';
import { PostgresClient } from './clients/postgres-client.js';
import type { DatabaseTarget, OpenConnection } from './database-target.js';
import { PostgresWakeBus } from './postgres-wake-bus.js';

export interface PostgresPoolTargetOptions {
  pool: PoolConfig;
  schema?: string;
  reconnectWindowMs: number;
  logger?: { warn(message: string): void };
}

/** Loads `pg` on first use only (an optional peer dependency). */
async function loadPg(): Promise<typeof import('pg')> {
  const name = 'pg';
  try {
    const loaded = (await import(name)) as { default: typeof import('pg') };
    return loaded.default;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ConfigurationError("database type 'postgres' needs the pg package: npm install pg", { cause: error });
    }
    throw error;
  }
}

/**
 * A pg Pool Stent opens itself for `database: { type: 'postgres' }`, as TypeORM's driver opened it (the
 * same pool settings, one connection tried before the pool counts as open), but without loading TypeORM:
 * a process that only runs Stent (a worker, the CLI) starts in about half the CPU time.
 */
export class PostgresPoolTarget implements DatabaseTarget {
  private pool: Pool | undefined;

  constructor(private readonly options: PostgresPoolTargetOptions) {}

  get isOpen(): boolean {
    return this.pool !== undefined;
  }

  async open(): Promise<void> {
    if (this.pool) return;
    const pg = await loadPg();
    const pool = new pg.Pool(this.options.pool);
    // An idle connection the server drops emits 'error' on the pool; unheard, it would end the process.
    // Not logged: TypeORM's pool listener, which this replaces, was silent without its logging option.
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      client.release();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    // An earlier attempt, given up on, may have opened a pool meanwhile: one is enough.
    if (this.pool) await pool.end();
    else this.pool = pool;
  }

  /** A late pool is kept: the next attempt uses it, close() ends it. */
  async discardLateOpen(): Promise<void> {}

  /** The open pool (migrations run on a connection of it). */
  openPool(): Pool {
    if (!this.pool) throw new Error('The PostgreSQL pool is not open');
    return this.pool;
  }

  connection(): OpenConnection {
    const pool = this.openPool();
    const { schema, reconnectWindowMs, logger } = this.options;
    return {
      client: new PostgresClient(pool, false, { retryWindowMs: reconnectWindowMs }),
      bus: new PostgresWakeBus(pool, schema ?? 'public', logger),
    };
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool.end();
  }
}
