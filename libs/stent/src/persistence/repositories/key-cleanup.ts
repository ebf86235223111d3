import type { SpentKeyCounts } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { num } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE } from '../sql/statements.js';

/**
 * A flow-key row's window (or park) must have ended this long ago before it goes: a claim reads its time
 * before it waits for the key's lock, and one that read it in a window just gone must still find that
 * window's count rather than an empty key.
 */
export const FLOW_KEY_GRACE_MS = 60_000;

/**
 * Retention of key rows: debounce and singleton rows whose execution ended (or was removed) and that no
 * dispatch waits behind, and flow-key rows whose rate window and park are over. Each row goes only after
 * it was locked and found spent again (the row under FOR UPDATE on PostgreSQL, the flow key's claim lock;
 * SQLite's write lock covers both), so a dispatch or claim changing it meanwhile keeps it.
 */
export class KeyCleanupRepository {
  constructor(private readonly ctx: SqlContext) {}

  async removeSpentKeys(now: number, limit: number, dryRun: boolean): Promise<SpentKeyCounts> {
    return {
      dispatchKeys: (await this.debounces(limit, dryRun)) + (await this.singletons(limit, dryRun)),
      flowKeys: await this.flowKeys(now - FLOW_KEY_GRACE_MS, limit, dryRun),
    };
  }

  private spentDebounce(alias: string): string {
    return `NOT EXISTS (SELECT 1 FROM ${this.ctx.t.executions} e WHERE e.id = ${alias}.execution_id AND e.state IN ${ACTIVE})`;
  }

  private spentSingleton(alias: string): string {
    const { t } = this.ctx;
    return `NOT EXISTS (SELECT 1 FROM ${t.executions} e WHERE e.id = ${alias}.holder_id AND e.state IN ${ACTIVE})
            AND NOT EXISTS (SELECT 1 FROM ${t.singletonWaiters} w WHERE w.workflow_name = ${alias}.workflow_name AND w.dispatch_key = ${alias}.dispatch_key)`;
  }

  /** A debounce row whose burst's execution ended: the next dispatch of its key begins a new burst either way. */
  private async debounces(limit: number, dryRun: boolean): Promise<number> {
    const { t } = this.ctx;
    return this.removeLocked(t.debounces, (row) => this.spentDebounce(row), limit, dryRun);
  }

  /** A singleton row whose holder ended and with no execution queued behind it. */
  private async singletons(limit: number, dryRun: boolean): Promise<number> {
    const { t } = this.ctx;
    return this.removeLocked(t.singletons, (row) => this.spentSingleton(row), limit, dryRun);
  }

  /** `spent(row)`: whether the row (by alias or table name) is spent. */
  private async removeLocked(table: string, spent: (row: string) => string, limit: number, dryRun: boolean): Promise<number> {
    const { client, dialect } = this.ctx;
    if (dryRun) {
      const [row] = await client.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table} d WHERE ${spent('d')}`);
      return num(row?.n ?? 0);
    }
    return client.transaction(async (tx) => {
      const rows = await tx.query<{ workflow_name: string; dispatch_key: string }>(
        `SELECT d.workflow_name, d.dispatch_key FROM ${table} d WHERE ${spent('d')} ORDER BY d.workflow_name, d.dispatch_key LIMIT ?${dialect.forUpdate}`,
        [limit],
      );
      let removed = 0;
      // Locked now: a dispatch that changed a row before the lock was taken is seen by this fresh check.
      for (const row of rows) {
        removed += await tx.execute(`DELETE FROM ${table} WHERE workflow_name = ? AND dispatch_key = ? AND ${spent(table)}`, [
          row.workflow_name,
          row.dispatch_key,
        ]);
      }
      return removed;
    });
  }

  /** Flow-key rows (activities' and workflows') whose window and park ended before `before`. */
  private async flowKeys(before: number, limit: number, dryRun: boolean): Promise<number> {
    const { t, client, dialect } = this.ctx;
    const spent = `(blocked_until IS NULL OR blocked_until <= ?) AND (used = 0 OR (window_end IS NOT NULL AND window_end <= ?))`;
    if (dryRun) {
      const [row] = await client.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${t.flowKeys} WHERE ${spent}`, [before, before]);
      return num(row?.n ?? 0);
    }
    const names = await client.query<{ name: string }>(`SELECT DISTINCT name FROM ${t.flowKeys} WHERE ${spent}`, [before, before]);
    let removed = 0;
    for (const { name } of names) {
      if (removed >= limit) break;
      // Under the name's claim lock, as claims count and move windows (see claimFlowLimited).
      removed += await client.transaction(async (tx: SqlExecutor) => {
        await dialect.lockCap(tx, String(name), t.schema);
        return tx.execute(
          `DELETE FROM ${t.flowKeys} WHERE name = ? AND flow_key IN (SELECT flow_key FROM ${t.flowKeys} WHERE name = ? AND ${spent} LIMIT ?)`,
          [name, name, before, before, limit - removed],
        );
      });
    }
    return removed;
  }
}
