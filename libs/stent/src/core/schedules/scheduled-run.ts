import { randomUUID } from 'node:crypto';
import type { ScheduleTick } from '../api/schedule-options.js';
import { decode, encode } from '../serialization.js';
import type { NewExecution, ScheduleRecord } from '../store/index.js';

/** What every tick's idempotency key starts with (a LIKE prefix for finding schedule runs). */
export const TICK_KEY_PREFIX = 'stent:schedule:';

/** The idempotency key of a schedule's run for one tick: the unique index makes it one run per tick. */
export function tickKey(schedule: string, tick: number): string {
  return `${TICK_KEY_PREFIX}${schedule}:${tick}`;
}

/** The schedule and tick of a tick's idempotency key; undefined for any other key. */
export function parseTickKey(key: string): { schedule: string; tick: number } | undefined {
  if (!key.startsWith(TICK_KEY_PREFIX)) return undefined;
  const cut = key.lastIndexOf(':');
  const tick = Number(key.slice(cut + 1));
  if (cut <= TICK_KEY_PREFIX.length || !Number.isSafeInteger(tick)) return undefined;
  return { schedule: key.slice(TICK_KEY_PREFIX.length, cut), tick };
}

/**
 * The execution that runs `schedule` for `tick`: run(tick, ...args) with the schedule's dispatch defaults.
 * `keyed`: under the tick's idempotency key (fired and backfilled ticks); a trigger is a run of its own.
 */
export function scheduledRun(schedule: ScheduleRecord, tick: number, now: number, manual: boolean, keyed = true): NewExecution {
  const info: ScheduleTick = { schedule: schedule.name, tickAt: new Date(tick).toISOString(), manual };
  const extra = decode(schedule.args);
  const args = [info, ...(Array.isArray(extra) ? extra : [])];
  return {
    id: randomUUID(),
    workflowName: schedule.workflowName,
    args: encode(args, `schedule '${schedule.name}' (args)`),
    queue: schedule.queue,
    priority: schedule.priority ?? 0,
    tags: schedule.tags,
    parentId: null,
    parentPosition: null,
    idempotencyKey: keyed ? tickKey(schedule.name, tick) : null,
    createdAt: now,
    wakeAt: now,
    deadlineAt: schedule.maxDurationMs === null ? null : now + schedule.maxDurationMs,
    maxDurationMs: schedule.maxDurationMs,
  };
}
