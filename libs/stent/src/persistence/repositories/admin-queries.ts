import type { ExecutionState, StoreStats } from '../../core/index.js';
import { num, numOrNull } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE } from '../sql/statements.js';
import { workerFromRow } from './admin-workers.js';
import { WORKER_ROW_RETENTION_MS } from './workers.js';

/** Database-wide counts for dashboards and health checks (listings are in the other admin-* repositories). */
export class AdminQueries {
  constructor(private readonly ctx: SqlContext) {}

  async stats(now: number): Promise<StoreStats> {
    const { t, client } = this.ctx;
    const executions: StoreStats['executions'] = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0, timed_out: 0 };
    const byState = await client.query<{ state: ExecutionState; n: unknown }>(`SELECT state, COUNT(*) AS n FROM ${t.executions} GROUP BY state`);
    for (const row of byState) executions[row.state] = num(row.n);
    const [activities] = await client.query<{ due: unknown; scheduled: unknown; running: unknown; oldest: unknown }>(
      `SELECT
         COALESCE(SUM(CASE WHEN state = 'pending' AND available_at <= ? THEN 1 ELSE 0 END), 0) AS due,
         COALESCE(SUM(CASE WHEN state = 'pending' AND available_at > ? THEN 1 ELSE 0 END), 0) AS scheduled,
         COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0) AS running,
         MIN(CASE WHEN state = 'pending' AND available_at <= ? THEN available_at END) AS oldest
       FROM ${t.steps} WHERE kind = 'activity' AND state IN ${ACTIVE}`,
      [now, now, now],
    );
    const [executionBacklog] = await client.query<{ oldest: unknown }>(
      `SELECT MIN(wake_at) AS oldest FROM ${t.executions} WHERE lease_owner IS NULL AND wake_at IS NOT NULL AND wake_at <= ? AND state IN ${ACTIVE}`,
      [now],
    );
    const [letters] = await client.query<{ total: unknown }>(`SELECT COUNT(*) AS total FROM ${t.deadLetters}`);
    // Recent workers only: rows of long-gone processes are not listed (and are removed as workers start).
    const workers = await client.query(`SELECT * FROM ${t.workers} WHERE heartbeat_at >= ? ORDER BY started_at, id`, [now - WORKER_ROW_RETENTION_MS]);
    const oldest = [numOrNull(activities?.oldest), numOrNull(executionBacklog?.oldest)].filter((value): value is number => value !== null);
    return {
      executions,
      activities: { due: num(activities?.due ?? 0), scheduled: num(activities?.scheduled ?? 0), running: num(activities?.running ?? 0) },
      deadLetters: num(letters?.total ?? 0),
      oldestDueAt: oldest.length ? Math.min(...oldest) : null,
      workers: workers.map(workerFromRow),
    };
  }
}
