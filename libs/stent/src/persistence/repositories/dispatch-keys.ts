import { SingletonConflictError, type DebounceRequest, type NewExecution, type SingletonRelease, type SingletonRequest } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { num } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE } from '../sql/statements.js';
import type { ExecutionsRepository } from './executions.js';

/**
 * Debounced and singleton dispatches. Each takes its key's row first (inserting it, or locking it: the
 * transaction holds the write lock on SQLite, FOR UPDATE on PostgreSQL), so dispatchers of one key in any
 * number of processes take turns; an execution's start is judged by a conditional update of its row, so a
 * claim racing the dispatch is either before it (a new execution follows) or after it (it sees the change).
 */
export class DispatchKeysRepository {
  constructor(
    private readonly ctx: SqlContext,
    private readonly executions: ExecutionsRepository,
  ) {}

  async createDebounced(execution: NewExecution, debounce: DebounceRequest, now: number): Promise<{ id: string; created: boolean }> {
    const { t, dialect, client } = this.ctx;
    const startAt = (firstAt: number) => Math.min(now + debounce.delayMs, debounce.maxWaitMs === null ? Infinity : firstAt + debounce.maxWaitMs);
    const result = await client.transaction(async (tx) => {
      const key = [execution.workflowName, debounce.key];
      const fresh = await tx.query(
        `INSERT INTO ${t.debounces} (workflow_name, dispatch_key, execution_id, first_at) VALUES (?, ?, ?, ?) ON CONFLICT (workflow_name, dispatch_key) DO NOTHING RETURNING dispatch_key`,
        [...key, execution.id, now],
      );
      if (fresh.length === 0) {
        const [row] = await tx.query<{ execution_id: string; first_at: unknown }>(
          `SELECT execution_id, first_at FROM ${t.debounces} WHERE workflow_name = ? AND dispatch_key = ?${dialect.forUpdate}`,
          key,
        );
        const pendingId = String(row!.execution_id);
        // Not started yet: it takes these arguments (and the flow keys they give) and waits for a new quiet period.
        const moved = await tx.execute(
          `UPDATE ${t.executions} SET args = ?, concurrency_key = ?, rate_key = ?, wake_at = ?, updated_at = ? WHERE id = ? AND state = 'pending' AND lease_owner IS NULL AND wake_at IS NOT NULL`,
          [execution.args, execution.concurrencyKey ?? null, execution.rateKey ?? null, startAt(num(row!.first_at)), now, pendingId],
        );
        if (moved > 0) return { id: pendingId, created: false };
        await tx.execute(`UPDATE ${t.debounces} SET execution_id = ?, first_at = ? WHERE workflow_name = ? AND dispatch_key = ?`, [execution.id, now, ...key]);
      }
      await this.executions.insertExecution(tx, { ...execution, wakeAt: startAt(now) });
      return { id: execution.id, created: true };
    });
    if (result.created) this.ctx.bus.publish({ type: 'work', of: 'executions' });
    return result;
  }

  async createSingleton(execution: NewExecution, singleton: SingletonRequest, now: number): Promise<{ id: string; queued: boolean }> {
    const { t, dialect, client } = this.ctx;
    const result = await client.transaction(async (tx) => {
      const key = [execution.workflowName, singleton.key];
      const fresh = await tx.query(
        `INSERT INTO ${t.singletons} (workflow_name, dispatch_key, holder_id) VALUES (?, ?, ?) ON CONFLICT (workflow_name, dispatch_key) DO NOTHING RETURNING dispatch_key`,
        [...key, execution.id],
      );
      if (fresh.length === 0) {
        const [row] = await tx.query<{ holder_id: string }>(`SELECT holder_id FROM ${t.singletons} WHERE workflow_name = ? AND dispatch_key = ?${dialect.forUpdate}`, key);
        const holder = String(row!.holder_id);
        const busy = (await this.goingOn(tx, holder)) || (await this.hasWaiters(tx, key));
        if (busy) {
          if (!singleton.wait) throw new SingletonConflictError(execution.workflowName, singleton.key, holder);
          await this.executions.insertExecution(tx, execution);
          // Queued: not due (no worker claims it) until releaseSingletons hands it the turn.
          await tx.execute(`UPDATE ${t.executions} SET wake_at = NULL WHERE id = ?`, [execution.id]);
          await tx.execute(`INSERT INTO ${t.singletonWaiters} (execution_id, workflow_name, dispatch_key, queued_at) VALUES (?, ?, ?, ?)`, [execution.id, ...key, now]);
          return { id: execution.id, queued: true };
        }
        await tx.execute(`UPDATE ${t.singletons} SET holder_id = ? WHERE workflow_name = ? AND dispatch_key = ?`, [execution.id, ...key]);
      }
      await this.executions.insertExecution(tx, execution);
      return { id: execution.id, queued: false };
    });
    if (!result.queued) this.ctx.bus.publish({ type: 'work', of: 'executions' });
    return result;
  }

  async releaseSingletons(now: number): Promise<SingletonRelease> {
    const { t, dialect, client } = this.ctx;
    const keys = await client.query<{ workflow_name: string; dispatch_key: string }>(
      `SELECT DISTINCT s.workflow_name, s.dispatch_key FROM ${t.singletons} s
       JOIN ${t.singletonWaiters} w ON w.workflow_name = s.workflow_name AND w.dispatch_key = s.dispatch_key
       WHERE NOT EXISTS (SELECT 1 FROM ${t.executions} e WHERE e.id = s.holder_id AND e.state IN ${ACTIVE})`,
    );
    let released = 0;
    for (const { workflow_name, dispatch_key } of keys) {
      const key = [String(workflow_name), String(dispatch_key)];
      const woken = await client.transaction(async (tx) => {
        const [row] = await tx.query<{ holder_id: string }>(`SELECT holder_id FROM ${t.singletons} WHERE workflow_name = ? AND dispatch_key = ?${dialect.forUpdate}`, key);
        if (!row || (await this.goingOn(tx, String(row.holder_id)))) return false;
        for (;;) {
          const [next] = await tx.query<{ execution_id: string }>(
            `SELECT execution_id FROM ${t.singletonWaiters} WHERE workflow_name = ? AND dispatch_key = ? ORDER BY queued_at, execution_id LIMIT 1`,
            key,
          );
          if (!next) return false;
          const id = String(next.execution_id);
          await tx.execute(`DELETE FROM ${t.singletonWaiters} WHERE execution_id = ?`, [id]);
          // A queued execution cancelled meanwhile gives its turn to the next.
          const started = await tx.execute(`UPDATE ${t.executions} SET wake_at = ?, updated_at = ? WHERE id = ? AND state = 'pending' AND wake_at IS NULL`, [now, now, id]);
          if (started === 0) continue;
          await tx.execute(`UPDATE ${t.singletons} SET holder_id = ? WHERE workflow_name = ? AND dispatch_key = ?`, [id, ...key]);
          return true;
        }
      });
      if (woken) released++;
    }
    if (released > 0) this.ctx.bus.publish({ type: 'work', of: 'executions' });
    const waiting = keys.length > 0 || (await client.query(`SELECT 1 AS waiting FROM ${t.singletonWaiters} LIMIT 1`)).length > 0;
    return { released, waiting };
  }

  private async goingOn(tx: SqlExecutor, executionId: string): Promise<boolean> {
    return (await tx.query(`SELECT 1 AS active FROM ${this.ctx.t.executions} WHERE id = ? AND state IN ${ACTIVE}`, [executionId])).length > 0;
  }

  private async hasWaiters(tx: SqlExecutor, key: unknown[]): Promise<boolean> {
    return (await tx.query(`SELECT 1 AS waiting FROM ${this.ctx.t.singletonWaiters} WHERE workflow_name = ? AND dispatch_key = ? LIMIT 1`, key)).length > 0;
  }
}
