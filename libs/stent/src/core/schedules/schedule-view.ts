import { decode } from '../serialization.js';
import type { ScheduleRecord } from '../store/index.js';

/** A schedule as the executor reports it: arguments decoded, times as Dates. */
export interface ScheduleInfo {
  name: string;
  workflowName: string;
  cron: string;
  timezone: string;
  /** run()'s arguments after the tick. */
  args: unknown[];
  catchUp: 'skip' | number;
  overlap: 'skip' | 'allow';
  state: 'active' | 'paused';
  /** 'decorator': declared with @Workflow({ schedule }); 'api': made with executor.schedules.create. */
  source: 'decorator' | 'api';
  queue: string;
  /** When it fires next (null while paused). */
  nextTickAt: Date | null;
  lastTickAt: Date | null;
  /** The run started last (by a tick or a trigger). */
  lastExecutionId: string | null;
  /** The latest tick whose run retention removed: a backfill starts no tick up to it again. */
  removedThrough: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const dateOrNull = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

export function scheduleInfo(record: ScheduleRecord): ScheduleInfo {
  const args = decode(record.args);
  return {
    name: record.name,
    workflowName: record.workflowName,
    cron: record.cron,
    timezone: record.timezone,
    args: Array.isArray(args) ? args : [],
    catchUp: record.catchUp === 0 ? 'skip' : record.catchUp,
    overlap: record.overlap,
    state: record.state,
    source: record.source,
    queue: record.queue,
    nextTickAt: dateOrNull(record.nextTickAt),
    lastTickAt: dateOrNull(record.lastTickAt),
    lastExecutionId: record.lastExecutionId,
    removedThrough: dateOrNull(record.removedThrough ?? null),
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  };
}
