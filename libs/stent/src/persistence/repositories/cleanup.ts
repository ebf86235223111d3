import { parseTickKey, TICK_KEY_PREFIX, type CleanupBatchRequest, type CleanupBatchResult, type CleanupCounts } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { num } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';

const FINAL = ['completed', 'failed', 'cancelled', 'timed_out'];

/**
 * Retention: removes finished execution trees (the execution, its descendants, their steps, signals,
 * dead letters, events and stream entries), expired cache rows and worker rows long silent. Each batch is one short transaction; the
 * tree's states are read again under lock inside it, so a tree revived meanwhile (a dead-letter replay,
 * a retry) is left alone.
 */
export class CleanupRepository {
  constructor(private readonly ctx: SqlContext) {}

  async batch(request: CleanupBatchRequest): Promise<CleanupBatchResult> {
    const roots = await this.candidates(request);
    const last = roots.length ? { finishedAt: num(roots[roots.length - 1]!.finished_at), id: String(roots[roots.length - 1]!.id) } : request.after;
    const result: CleanupBatchResult = { executions: 0, steps: 0, signals: 0, deadLetters: 0, scanned: roots.length, skipped: 0, last };
    if (roots.length === 0) return result;
    // Run again whole if PostgreSQL picks it as a deadlock victim (the client retries), so it counts afresh.
    const work = async (tx: SqlExecutor) => {
      const trees = await this.trees(tx, roots.map((row) => String(row.id)));
      const removable: string[] = [];
      let skipped = 0;
      for (const [rootId, members] of trees) {
        const root = members.find((member) => member.id === rootId);
        const intact =
          root !== undefined &&
          request.states.includes(root.state) &&
          root.finishedAt !== null &&
          root.finishedAt <= request.finishedBefore &&
          members.every((member) => FINAL.includes(member.state));
        if (intact) removable.push(...members.map((member) => member.id));
        else skipped++;
      }
      return { skipped, ...(await (request.dryRun ? this.count(tx, removable) : this.remove(tx, removable))) };
    };
    Object.assign(result, request.dryRun ? await work(this.ctx.client) : await this.ctx.client.transaction(work));
    return result;
  }

  private async candidates(request: CleanupBatchRequest): Promise<Array<Record<string, unknown>>> {
    const { t, dialect } = this.ctx;
    const params: unknown[] = [];
    const states = dialect.inList('state', request.states, params);
    params.push(request.finishedBefore);
    let after = '';
    if (request.after) {
      after = ' AND (finished_at > ? OR (finished_at = ? AND id > ?))';
      params.push(request.after.finishedAt, request.after.finishedAt, request.after.id);
    }
    params.push(request.limit);
    return this.ctx.client.query(
      `SELECT id, finished_at FROM ${t.executions}
       WHERE parent_id IS NULL AND ${states} AND finished_at IS NOT NULL AND finished_at <= ?${after}
       ORDER BY finished_at, id LIMIT ?`,
      params,
    );
  }

  /** Every execution under each root with its state, read under lock (PostgreSQL; SQLite's write lock covers it). */
  private async trees(tx: SqlExecutor, rootIds: string[]): Promise<Map<string, Array<{ id: string; state: string; finishedAt: number | null }>>> {
    const { t, dialect } = this.ctx;
    const params: unknown[] = [];
    const seed = dialect.inList('id', rootIds, params);
    const members = await tx.query<{ root: string; id: string }>(
      `WITH RECURSIVE tree(root, id) AS (
         SELECT id, id FROM ${t.executions} WHERE ${seed}
         UNION ALL
         SELECT tree.root, child.id FROM ${t.executions} child JOIN tree ON child.parent_id = tree.id
       ) SELECT root, id FROM tree`,
      params,
    );
    const lockParams: unknown[] = [];
    const ids = members.map((member) => member.id);
    const rows = await tx.query<{ id: string; state: string; finished_at: unknown }>(
      `SELECT id, state, finished_at FROM ${t.executions} WHERE ${dialect.inList('id', ids, lockParams)} ORDER BY id${dialect.forUpdate}`,
      lockParams,
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    const trees = new Map<string, Array<{ id: string; state: string; finishedAt: number | null }>>();
    for (const member of members) {
      const row = byId.get(member.id);
      if (!row) continue;
      const list = trees.get(member.root) ?? [];
      list.push({ id: row.id, state: row.state, finishedAt: row.finished_at === null || row.finished_at === undefined ? null : num(row.finished_at) });
      trees.set(member.root, list);
    }
    return trees;
  }

  private async remove(tx: SqlExecutor, ids: string[]): Promise<CleanupCounts> {
    const { t, dialect } = this.ctx;
    const where = (column: string) => {
      const params: unknown[] = [];
      return { sql: dialect.inList(column, ids, params), params };
    };
    if (ids.length === 0) return { executions: 0, steps: 0, signals: 0, deadLetters: 0 };
    const run = async (table: string, column: string) => {
      const { sql, params } = where(column);
      return tx.execute(`DELETE FROM ${table} WHERE ${sql}`, params);
    };
    await this.markRemovedTicks(tx, ids);
    const deadLetters = await run(t.deadLetters, 'execution_id');
    const signals = await run(t.signals, 'execution_id');
    await run(t.events, 'execution_id');
    await run(t.streams, 'execution_id');
    const steps = await run(t.steps, 'execution_id');
    const executions = await run(t.executions, 'id');
    return { executions, steps, signals, deadLetters };
  }

  /**
   * Schedule runs among the executions about to go: each schedule keeps the latest tick whose run is
   * removed, so a backfill over it does not start it again (its run, found by the tick's key, is gone).
   */
  private async markRemovedTicks(tx: SqlExecutor, ids: string[]): Promise<void> {
    const { t, dialect } = this.ctx;
    const params: unknown[] = [];
    const rows = await tx.query<{ idempotency_key: string }>(
      `SELECT idempotency_key FROM ${t.executions} WHERE ${dialect.inList('id', ids, params)} AND idempotency_key LIKE '${TICK_KEY_PREFIX}%'`,
      params,
    );
    const latest = new Map<string, number>();
    for (const { idempotency_key: key } of rows) {
      const run = parseTickKey(key);
      if (run) latest.set(run.schedule, Math.max(run.tick, latest.get(run.schedule) ?? -Infinity));
    }
    for (const [name, tick] of latest) {
      await tx.execute(`UPDATE ${t.schedules} SET removed_through = ? WHERE name = ? AND (removed_through IS NULL OR removed_through < ?)`, [tick, name, tick]);
    }
  }

  private async count(tx: SqlExecutor, ids: string[]): Promise<CleanupCounts> {
    const { t, dialect } = this.ctx;
    if (ids.length === 0) return { executions: 0, steps: 0, signals: 0, deadLetters: 0 };
    const run = async (table: string, column: string) => {
      const params: unknown[] = [];
      const [row] = await tx.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${dialect.inList(column, ids, params)}`, params);
      return num(row?.n ?? 0);
    };
    return { executions: ids.length, steps: await run(t.steps, 'execution_id'), signals: await run(t.signals, 'execution_id'), deadLetters: await run(t.deadLetters, 'execution_id') };
  }

  async removeExpiredCache(now: number, limit: number, dryRun: boolean): Promise<number> {
    const { t } = this.ctx;
    if (dryRun) {
      const [row] = await this.ctx.client.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${t.cache} WHERE expires_at IS NOT NULL AND expires_at <= ?`, [now]);
      return num(row?.n ?? 0);
    }
    return this.ctx.client.execute(
      `DELETE FROM ${t.cache} WHERE cache_key IN (SELECT cache_key FROM ${t.cache} WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)`,
      [now, limit],
    );
  }

  async removeSilentWorkers(before: number, dryRun: boolean): Promise<number> {
    const { t } = this.ctx;
    if (dryRun) {
      const [row] = await this.ctx.client.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${t.workers} WHERE heartbeat_at < ?`, [before]);
      return num(row?.n ?? 0);
    }
    return this.ctx.client.execute(`DELETE FROM ${t.workers} WHERE heartbeat_at < ?`, [before]);
  }

  async claimMaintenance(name: string, owner: string, now: number, nextRunAt: number): Promise<boolean> {
    const { t } = this.ctx;
    await this.ctx.client.execute(`INSERT INTO ${t.maintenance} (name, owner, last_run_at, next_run_at) VALUES (?, NULL, NULL, 0) ON CONFLICT (name) DO NOTHING`, [name]);
    const changed = await this.ctx.client.execute(
      `UPDATE ${t.maintenance} SET owner = ?, last_run_at = ?, next_run_at = ? WHERE name = ? AND next_run_at <= ?`,
      [owner, now, nextRunAt, name, now],
    );
    return changed === 1;
  }
}
