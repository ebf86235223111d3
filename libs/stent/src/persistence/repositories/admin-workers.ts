import type { WorkerRecord } from '../../core/index.js';
import type { Row } from '../sql/dialect.js';
import { num, numOrNull } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';

const list = (value: unknown): string[] => (value === null || value === undefined ? [] : (JSON.parse(String(value)) as string[]));

export function workerFromRow(row: Row): WorkerRecord {
  return {
    id: String(row.id),
    hostname: String(row.hostname),
    pid: num(row.pid),
    queues: list(row.queues),
    state: String(row.state),
    startedAt: num(row.started_at),
    heartbeatAt: num(row.heartbeat_at),
    tags: list(row.tags),
    workflows: list(row.workflows),
    activities: list(row.activities),
    workflowRoutes: row.workflow_routes === null || row.workflow_routes === undefined ? {} : (JSON.parse(String(row.workflow_routes)) as WorkerRecord['workflowRoutes']),
    concurrency: numOrNull(row.concurrency),
    leaseMs: numOrNull(row.lease_ms),
  };
}

/** Worker processes as operators see them: who is live, who stopped or went silent recently. */
export class AdminWorkers {
  constructor(private readonly ctx: SqlContext) {}

  async list(since: number): Promise<WorkerRecord[]> {
    const rows = await this.ctx.client.query(`SELECT * FROM ${this.ctx.t.workers} WHERE heartbeat_at >= ? ORDER BY started_at DESC, id`, [since]);
    return rows.map(workerFromRow);
  }
}
