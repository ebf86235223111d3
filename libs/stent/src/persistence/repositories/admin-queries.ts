import type { DeadLetterRecord, ExecutionFilter, ExecutionRecord, ExecutionState, Page, StoreStats } from '../../core/index.js';
import { listOf } from '../sql/dialect.js';
import { deadLetterFromRow, EXECUTION_READ, executionFromRow, num, numOrNull } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE } from '../sql/statements.js';
import { WORKER_ROW_RETENTION_MS } from './workers.js';

/** Read-only questions for people and dashboards: lists, filters, counts. None of them is on the hot path. */
export class AdminQueries {
  constructor(private readonly ctx: SqlContext) {}

  async listExecutions(filter: ExecutionFilter, page: Page): Promise<{ items: ExecutionRecord[]; total: number }> {
    const { t, dialect, client } = this.ctx;
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state !== undefined) where.push(dialect.inList('state', Array.isArray(filter.state) ? filter.state : [filter.state], params));
    if (filter.workflowName !== undefined) {
      where.push('workflow_name = ?');
      params.push(filter.workflowName);
    }
    if (filter.parentId !== undefined) {
      where.push('parent_id = ?');
      params.push(filter.parentId);
    }
    if (filter.queue !== undefined) {
      where.push('queue = ?');
      params.push(filter.queue);
    }
    if (filter.tag !== undefined) {
      where.push(dialect.tagFilter([filter.tag], params));
    }
    if (filter.createdAfter !== undefined) {
      where.push('created_at >= ?');
      params.push(filter.createdAfter);
    }
    if (filter.createdBefore !== undefined) {
      where.push('created_at < ?');
      params.push(filter.createdBefore);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [count] = await client.query<{ total: unknown }>(`SELECT COUNT(*) AS total FROM ${t.executions} ${clause}`, params);
    const rows = await client.query(`SELECT ${listOf(EXECUTION_READ)} FROM ${t.executions} ${clause} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`, [
      ...params,
      page.limit ?? 50,
      page.offset ?? 0,
    ]);
    return { items: rows.map(executionFromRow), total: num(count?.total ?? 0) };
  }

  async listDeadLetters(page: Page): Promise<{ items: DeadLetterRecord[]; total: number }> {
    const { t, client } = this.ctx;
    const [count] = await client.query<{ total: unknown }>(`SELECT COUNT(*) AS total FROM ${t.deadLetters}`);
    const rows = await client.query(`SELECT * FROM ${t.deadLetters} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`, [page.limit ?? 50, page.offset ?? 0]);
    return { items: rows.map(deadLetterFromRow), total: num(count?.total ?? 0) };
  }

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
      workers: workers.map((row) => ({
        id: String(row.id),
        hostname: String(row.hostname),
        pid: num(row.pid),
        queues: JSON.parse(String(row.queues)) as string[],
        state: String(row.state),
        startedAt: num(row.started_at),
        heartbeatAt: num(row.heartbeat_at),
      })),
    };
  }
}
