import type { NewExecution } from './records.js';

/** A schedule as stored. Times are epoch milliseconds. */
export interface ScheduleRecord {
  name: string;
  workflowName: string;
  cron: string;
  timezone: string;
  /** Encoded array: run()'s arguments after the tick. */
  args: string;
  /** 0: missed ticks are skipped; N: the latest N run. */
  catchUp: number;
  overlap: 'skip' | 'allow';
  state: 'active' | 'paused';
  /** 'decorator': from @Workflow({ schedule }), updated from the code at each start; 'api': made at run time. */
  source: 'decorator' | 'api';
  queue: string;
  priority: number | null;
  tags: string[];
  maxDurationMs: number | null;
  /** The next tick to fire (null when paused or when the expression has no more ticks). */
  nextTickAt: number | null;
  lastTickAt: number | null;
  lastExecutionId: string | null;
  /**
   * The latest tick whose run retention removed (read only: retention sets it). A backfill starts no tick
   * at or before it: its run, found by the tick's key, is gone, and the tick may well have run.
   */
  removedThrough?: number | null;
  createdAt: number;
  updatedAt: number;
}

/** One firing of a schedule: move its next tick on from where the caller saw it, and start these runs. */
export interface ScheduleFiring {
  name: string;
  /** The next tick the caller read; the firing happens only if it is still the stored one. */
  expectedNextTickAt: number;
  nextTickAt: number | null;
  /** The latest tick this firing accounts for (fired or skipped). */
  lastTickAt: number;
  /** Runs for the ticks to fire, each with the tick's idempotency key. */
  executions: NewExecution[];
  /** Fire nothing if the schedule's last run is still pending or running. */
  skipIfRunning: boolean;
  now: number;
}

/** What a firing did: nothing (another worker fired it first, or it was paused or changed), or these runs. */
export interface ScheduleFired {
  advanced: boolean;
  /** Ids of the executions created (a tick whose run exists already creates none). */
  created: string[];
  /** Whether the ticks were dropped because the last run still runs. */
  skippedOverlap: boolean;
}

/** Schedules: kept in the database so every worker agrees on them; fired once per tick across workers. */
export interface ScheduleStore {
  /** Inserts a schedule; false when the name is taken. */
  createSchedule(schedule: ScheduleRecord): Promise<boolean>;
  /**
   * Inserts a schedule declared in code, or brings the stored one (if it came from code) up to date with
   * it, keeping whether it is paused; its next tick is replaced only when its cron or time zone changed.
   */
  syncDeclaredSchedule(schedule: ScheduleRecord): Promise<void>;
  /** Replaces the stored fields of a schedule; false when there is none. */
  updateSchedule(schedule: ScheduleRecord): Promise<boolean>;
  deleteSchedule(name: string): Promise<boolean>;
  getSchedule(name: string): Promise<ScheduleRecord | null>;
  listSchedules(): Promise<ScheduleRecord[]>;
  /** Active schedules whose next tick is at or before `now`. */
  dueSchedules(now: number): Promise<ScheduleRecord[]>;
  /** Advances a schedule and creates its runs in one transaction: exactly one caller per tick succeeds. */
  fireSchedule(firing: ScheduleFiring): Promise<ScheduleFired>;
  /**
   * Creates runs asked for by hand (trigger, backfill), each under its tick's idempotency key: a tick
   * that already has a run gets no second one. Returns the ids created; `recordLast`: the last one
   * becomes the schedule's last run (what overlap 'skip' looks at).
   */
  createScheduledRuns(name: string, executions: NewExecution[], recordLast: boolean): Promise<string[]>;
}
