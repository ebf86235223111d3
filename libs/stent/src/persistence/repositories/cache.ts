import type { SqlExecutor } from '../clients/sql-client.js';
import type { SqlContext } from '../sql/sql-context.js';

/** Results of idempotent and cached activities, reused across executions by key. */
export class CacheRepository {
  constructor(private readonly ctx: SqlContext) {}

  async lookup(key: string, now: number): Promise<string | null> {
    const [row] = await this.ctx.client.query<{ result: string }>(
      `SELECT result FROM ${this.ctx.t.cache} WHERE cache_key = ? AND (expires_at IS NULL OR expires_at > ?)`,
      [key, now],
    );
    return row ? row.result : null;
  }

  /** Stores the result of the step `stepId` under `key` (replacing an older one). */
  async store(tx: SqlExecutor, stepId: string, cache: { key: string; expiresAt: number | null }, result: string, now: number): Promise<void> {
    const { t } = this.ctx;
    await tx.execute(
      `INSERT INTO ${t.cache} (cache_key, name, result, created_at, expires_at) SELECT ?, name, ?, ?, ? FROM ${t.steps} WHERE id = ?
       ON CONFLICT (cache_key) DO UPDATE SET result = excluded.result, created_at = excluded.created_at, expires_at = excluded.expires_at`,
      [cache.key, result, now, cache.expiresAt, stepId],
    );
  }
}
