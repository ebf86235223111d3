/**
 * When a workflow runs on its own: a cron expression read in a time zone, and what to do with ticks
 * missed while no worker ran and with a tick that comes while the previous run still runs.
 */
export interface ScheduleOptions {
  /** Five fields (minute hour day month weekday), six with seconds first, or @hourly, @daily, ... */
  cron: string;
  /** IANA time zone the expression is read in. Default 'UTC'. */
  timezone?: string;
  /**
   * Ticks more than a minute overdue when a worker looks (no worker ran at the time): 'skip' runs none of
   * them (default); a number N runs the latest N of them.
   */
  catchUp?: 'skip' | number;
  /** A tick that comes while this schedule's previous run is still going on: 'allow' runs it anyway (default), 'skip' drops it. */
  overlap?: 'skip' | 'allow';
  /** Arguments passed to run() after the tick. Default none. */
  args?: unknown[];
}

/** A schedule made at run time (executor.schedules.create): a name, the workflow it starts, and when. */
export interface NewScheduleOptions extends ScheduleOptions {
  /** The schedule's identity (one execution per schedule and tick). */
  name: string;
  /** Workflow class or durable name. */
  workflow: unknown;
  /** Create it paused. Default false. */
  paused?: boolean;
}

/** The first argument a scheduled run() receives. */
export interface ScheduleTick {
  /** The schedule's name. */
  schedule: string;
  /** The tick this run is for (ISO 8601, UTC), not when it started. */
  tickAt: string;
  /** Whether it was asked for (trigger, backfill) rather than fired by the clock. */
  manual: boolean;
}
