import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { numberedPlaceholders, type SqlClient, type SqlExecutor } from './sql-client.js';

const translated = new Map<string, string>();
function pgSql(sql: string): string {
  let text = translated.get(sql);
  if (text === undefined) {
    text = numberedPlaceholders(sql);
    if (translated.size > 1000) translated.clear();
    translated.set(sql, text);
  }
  return text;
}

/**
 * Short statements are sent as named (prepared) statements: each connection parses and plans them once,
 * which on a busy server is most of what a one-row statement costs. Statements returning `*` stay unnamed,
 * so a migration that adds columns cannot break the cached plan of a worker that is still running.
 */
const preparedNames = new Map<string, string | null>();
function statementName(text: string, paramCount: number): string | undefined {
  if (paramCount > 100) return undefined;
  let name = preparedNames.get(text);
  if (name === undefined) {
    name = /\*/.test(text.replace(/COUNT\(\*\)/gi, '')) ? null : `stent_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    if (preparedNames.size > 2000) preparedNames.clear();
    preparedNames.set(text, name);
  }
  return name ?? undefined;
}

function run(client: Pool | PoolClient, sql: string, params: unknown[]) {
  const text = pgSql(sql);
  const name = statementName(text, params.length);
  return name ? client.query({ name, text, values: params }) : client.query(text, params);
}

function executorOf(client: Pool | PoolClient): SqlExecutor {
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      return (await run(client, sql, params)).rows as T[];
    },
    async execute(sql: string, params: unknown[] = []): Promise<number> {
      return (await run(client, sql, params)).rowCount ?? 0;
    },
  };
}

/** PostgreSQL through a pg Pool (usually the one TypeORM's DataSource already holds). */
export class PostgresClient implements SqlClient {
  readonly dialect = 'postgres' as const;
  private readonly direct: SqlExecutor;

  constructor(
    private readonly pool: Pool,
    private readonly ownsPool: boolean,
  ) {
    this.direct = executorOf(pool);
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.direct.query<T>(sql, params);
  }

  execute(sql: string, params?: unknown[]): Promise<number> {
    return this.direct.execute(sql, params);
  }

  /** Retries a transaction PostgreSQL aborted to break a deadlock or a serialization conflict. */
  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transactionOnce(work);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if ((code !== '40P01' && code !== '40001') || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  private async transactionOnce<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(executorOf(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}

/** Runs statements on a transaction the application opened (a TypeORM EntityManager). */
export function externalExecutor(manager: { query(sql: string, params?: unknown[]): Promise<unknown> }, dialect: 'sqlite' | 'postgres'): SqlExecutor {
  const text = (sql: string) => (dialect === 'postgres' ? pgSql(sql) : sql);
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
