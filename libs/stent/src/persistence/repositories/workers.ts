import type { WorkerInfo } from '../../core/index.js';
import { num } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';

/**
 * How long the row of a worker that stopped (or died) is kept after its last heartbeat. Each process start
 * adds a row; older rows are removed when a worker starts, and stats() lists only the rows kept.
 */
export const WORKER_ROW_RETENTION_MS = 24 * 3_600_000;

/** Worker processes: each records itself when it starts and with every heartbeat. */
export class WorkersRepository {
  constructor(private readonly ctx: SqlContext) {}

  /**
   * Upserts the worker's row; `joined` (its first record) also tells the other workers it exists, and
   * removes rows of workers not heard from within WORKER_ROW_RETENTION_MS, so restarts do not pile up rows.
   */
  async record(owner: string, info: WorkerInfo): Promise<void> {
    if (info.joined) {
      await this.ctx.client.execute(`DELETE FROM ${this.ctx.t.workers} WHERE heartbeat_at < ? AND id <> ?`, [info.now - WORKER_ROW_RETENTION_MS, owner]);
    }
    await this.ctx.client.execute(
      `INSERT INTO ${this.ctx.t.workers} (id, hostname, pid, queues, state, started_at, heartbeat_at, tags, workflows, activities, concurrency, lease_ms, workflow_routes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, heartbeat_at = excluded.heartbeat_at`,
      [
        owner,
        info.hostname,
        info.pid,
        JSON.stringify(info.queues),
        info.state,
        info.startedAt,
        info.now,
        JSON.stringify(info.tags ?? []),
        JSON.stringify(info.workflows ?? []),
        JSON.stringify(info.activities ?? []),
        info.concurrency ?? null,
        info.leaseMs ?? null,
        JSON.stringify(info.workflowRoutes ?? {}),
      ],
    );
    if (info.joined) this.ctx.bus.publish({ type: 'joined' });
  }

  /** Other workers still running whose heartbeat is no older than `since`. */
  async countPeers(owner: string, since: number): Promise<number> {
    const [row] = await this.ctx.client.query<{ n: unknown }>(
      `SELECT COUNT(*) AS n FROM ${this.ctx.t.workers} WHERE id <> ? AND state = 'running' AND heartbeat_at >= ?`,
      [owner, since],
    );
    return num(row?.n ?? 0);
  }
}
