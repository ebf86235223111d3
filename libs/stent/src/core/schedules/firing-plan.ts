import type { ScheduleRecord } from '../store/index.js';
import { parseCron } from './cron-expression.js';
import { nextTick } from './next-tick.js';

/** A tick overdue by more than this when a worker looks at it was missed (no worker ran at the time). */
export const MISSED_AFTER_MS = 60_000;
/** Ticks looked at one by one before the scan jumps ahead to the recent ones (a long outage of a fast schedule). */
const SCAN_LIMIT = 100_000;

export interface FiringPlan {
  /** Ticks to start a run for, oldest first. */
  run: number[];
  /** Missed ticks dropped by the catch-up policy (or the overlap policy's one-at-a-time). */
  skipped: number;
  /** The latest due tick (fired or skipped). */
  lastTickAt: number;
  /** The first tick after `now`. */
  nextTickAt: number | null;
}

/**
 * What to fire of a due schedule at `now`: every tick due within MISSED_AFTER_MS, and of the older ones
 * (missed) the latest `catchUp`. With overlap 'skip' only the latest tick runs: the others would overlap it.
 */
export function planFiring(schedule: ScheduleRecord, now: number): FiringPlan {
  const cron = parseCron(schedule.cron);
  const cutoff = now - MISSED_AFTER_MS;
  const missed: number[] = [];
  const onTime: number[] = [];
  let skipped = 0;
  let scanned = 0;
  let last = schedule.nextTickAt!;
  let tick: number | null = schedule.nextTickAt;
  while (tick !== null && tick <= now) {
    last = tick;
    if (tick < cutoff) {
      missed.push(tick);
      if (missed.length > schedule.catchUp) {
        missed.shift();
        skipped++;
      }
    } else {
      onTime.push(tick);
    }
    if (++scanned === SCAN_LIMIT && tick < cutoff) {
      // Too far behind to walk: what lies between is dropped unseen (counted as one).
      skipped++;
      tick = nextTick(cron, schedule.timezone, cutoff - 1);
      continue;
    }
    tick = nextTick(cron, schedule.timezone, tick);
  }
  let run = [...missed, ...onTime];
  if (schedule.overlap === 'skip' && run.length > 1) {
    skipped += run.length - 1;
    run = run.slice(-1);
  }
  return { run, skipped, lastTickAt: last, nextTickAt: tick };
}
