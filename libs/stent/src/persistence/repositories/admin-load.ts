import type { DueWorkRecord, ExecutionState, QueueBacklogRecord, ThroughputRecord } from '../../core/index.js';
import { num, numOrNull } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE } from '../sql/statements.js';

/** How much work waits on each queue and how much got done lately. */
export class AdminLoad {
  constructor(private readonly ctx: SqlContext) {}

  async queueBacklog(now: number): Promise<QueueBacklogRecord[]> {
    const { t, client } = this.ctx;
    const queues = new Map<string, QueueBacklogRecord>();
    const entry = (queue: string) => {
      let found = queues.get(queue);
      if (!found) queues.set(queue, (found = { queue, dueActivities: 0, scheduledActivities: 0, runningActivities: 0, dueExecutions: 0, oldestDueAt: null }));
      return found;
    };
    const oldest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
    const steps = await client.query<{ queue: string; due: unknown; scheduled: unknown; running: unknown; oldest: unknown }>(
      `SELECT queue,
         COALESCE(SUM(CASE WHEN state = 'pending' AND available_at <= ? THEN 1 ELSE 0 END), 0) AS due,
         COALESCE(SUM(CASE WHEN state = 'pending' AND available_at > ? THEN 1 ELSE 0 END), 0) AS scheduled,
         COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0) AS running,
         MIN(CASE WHEN state = 'pending' AND available_at <= ? THEN available_at END) AS oldest
       FROM ${t.steps} WHERE kind = 'activity' AND state IN ${ACTIVE} GROUP BY queue`,
      [now, now, now],
    );
    for (const row of steps) {
      const queue = entry(String(row.queue));
      queue.dueActivities = num(row.due);
      queue.scheduledActivities = num(row.scheduled);
      queue.runningActivities = num(row.running);
      queue.oldestDueAt = oldest(queue.oldestDueAt, numOrNull(row.oldest));
    }
    const executions = await client.query<{ queue: string; due: unknown; oldest: unknown }>(
      `SELECT queue, COUNT(*) AS due, MIN(wake_at) AS oldest FROM ${t.executions}
       WHERE lease_owner IS NULL AND wake_at IS NOT NULL AND wake_at <= ? AND state IN ${ACTIVE} GROUP BY queue`,
      [now],
    );
    for (const row of executions) {
      const queue = entry(String(row.queue));
      queue.dueExecutions = num(row.due);
      queue.oldestDueAt = oldest(queue.oldestDueAt, numOrNull(row.oldest));
    }
    return [...queues.values()].sort((a, b) => a.queue.localeCompare(b.queue));
  }

  async throughput(since: number): Promise<ThroughputRecord[]> {
    const { t, client } = this.ctx;
    const minutes = new Map<number, ThroughputRecord>();
    const entry = (minute: number) => {
      let found = minutes.get(minute);
      if (!found) minutes.set(minute, (found = { minute, stepsCompleted: 0, stepsFailed: 0, executions: {} }));
      return found;
    };
    // Integer division on both databases (BIGINT / INTEGER); the partial indexes on finished_at serve the range.
    const steps = await client.query<{ minute: unknown; state: string; n: unknown }>(
      `SELECT finished_at / 60000 AS minute, state, COUNT(*) AS n FROM ${t.steps}
       WHERE kind = 'activity' AND finished_at IS NOT NULL AND finished_at >= ? AND state IN ('completed', 'failed') GROUP BY finished_at / 60000, state`,
      [since],
    );
    for (const row of steps) {
      const bucket = entry(num(row.minute));
      if (row.state === 'completed') bucket.stepsCompleted += num(row.n);
      else bucket.stepsFailed += num(row.n);
    }
    const executions = await client.query<{ minute: unknown; state: ExecutionState; n: unknown }>(
      `SELECT finished_at / 60000 AS minute, state, COUNT(*) AS n FROM ${t.executions}
       WHERE finished_at IS NOT NULL AND finished_at >= ? GROUP BY finished_at / 60000, state`,
      [since],
    );
    for (const row of executions) {
      const bucket = entry(num(row.minute));
      bucket.executions[row.state] = (bucket.executions[row.state] ?? 0) + num(row.n);
    }
    return [...minutes.values()].sort((a, b) => a.minute - b.minute);
  }

  async dueWork(now: number): Promise<DueWorkRecord[]> {
    const { t, client } = this.ctx;
    const steps = await client.query<{ queue: string; name: string; due: unknown; oldest: unknown }>(
      `SELECT queue, name, COUNT(*) AS due, MIN(available_at) AS oldest FROM ${t.steps}
       WHERE kind = 'activity' AND state = 'pending' AND available_at <= ? GROUP BY queue, name`,
      [now],
    );
    const executions = await client.query<{ queue: string; name: string; due: unknown; oldest: unknown }>(
      `SELECT queue, workflow_name AS name, COUNT(*) AS due, MIN(wake_at) AS oldest FROM ${t.executions}
       WHERE lease_owner IS NULL AND wake_at IS NOT NULL AND wake_at <= ? AND state IN ${ACTIVE} GROUP BY queue, workflow_name`,
      [now],
    );
    const record = (kind: DueWorkRecord['kind']) => (row: { queue: string; name: string; due: unknown; oldest: unknown }): DueWorkRecord => ({
      kind,
      queue: String(row.queue),
      name: String(row.name),
      due: num(row.due),
      oldestDueAt: num(row.oldest),
    });
    return [...executions.map(record('workflow')), ...steps.map(record('activity'))];
  }
}
