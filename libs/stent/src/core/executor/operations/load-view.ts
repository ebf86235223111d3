import type { ExecutionState } from '../../api/result.js';
import type { QueueBacklogRecord, ThroughputRecord } from '../../store/index.js';

export interface QueueLoad {
  queue: string;
  /** Items due now and not taken: activity steps plus executions to start or resume. */
  due: number;
  dueActivities: number;
  dueExecutions: number;
  /** Activity steps waiting for a later time (retry back-off). */
  scheduledActivities: number;
  runningActivities: number;
  /** How long the oldest due item on this queue has waited (0 when nothing is due). */
  oldestDueAgeMs: number;
}

export interface ThroughputMinute {
  /** Start of the minute. */
  minute: Date;
  stepsCompleted: number;
  stepsFailed: number;
  executionsCompleted: number;
  /** Failed, cancelled or timed out. */
  executionsFailed: number;
}

export interface Throughput {
  minutes: number;
  /** One entry per minute, oldest first; the last is the minute in progress. */
  perMinute: ThroughputMinute[];
  /** Averages over the full minutes of the window (the current one excluded). */
  stepsPerMinute: number;
  executionsPerMinute: number;
}

export function queueLoad(record: QueueBacklogRecord, now: number): QueueLoad {
  return {
    queue: record.queue,
    due: record.dueActivities + record.dueExecutions,
    dueActivities: record.dueActivities,
    dueExecutions: record.dueExecutions,
    scheduledActivities: record.scheduledActivities,
    runningActivities: record.runningActivities,
    oldestDueAgeMs: record.oldestDueAt === null ? 0 : Math.max(0, now - record.oldestDueAt),
  };
}

const FAILED: ExecutionState[] = ['failed', 'cancelled', 'timed_out'];

/** The first minute of a window of `minutes` ending with the current minute. */
export function throughputSince(now: number, minutes: number): number {
  return (Math.floor(now / 60_000) - minutes + 1) * 60_000;
}

export function throughputView(records: ThroughputRecord[], now: number, minutes: number): Throughput {
  const current = Math.floor(now / 60_000);
  const byMinute = new Map(records.map((record) => [record.minute, record]));
  const perMinute: ThroughputMinute[] = [];
  for (let minute = current - minutes + 1; minute <= current; minute++) {
    const record = byMinute.get(minute);
    perMinute.push({
      minute: new Date(minute * 60_000),
      stepsCompleted: record?.stepsCompleted ?? 0,
      stepsFailed: record?.stepsFailed ?? 0,
      executionsCompleted: record?.executions.completed ?? 0,
      executionsFailed: FAILED.reduce((sum, state) => sum + (record?.executions[state] ?? 0), 0),
    });
  }
  const full = perMinute.slice(0, -1);
  const average = (pick: (m: ThroughputMinute) => number) => (full.length === 0 ? 0 : Math.round((full.reduce((sum, m) => sum + pick(m), 0) / full.length) * 100) / 100);
  return {
    minutes,
    perMinute,
    stepsPerMinute: average((m) => m.stepsCompleted + m.stepsFailed),
    executionsPerMinute: average((m) => m.executionsCompleted + m.executionsFailed),
  };
}
