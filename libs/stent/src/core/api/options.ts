import type { Duration } from './duration.js';
import type { RetryOptions } from '../definitions/retry-policy.js';
import type { ScheduleOptions } from './schedule-options.js';

export interface RoutingOptions {
  /** Queue the task is placed on; workers serve chosen queues. Default 'default'. */
  queue?: string;
  /** Higher runs first. Default 0. */
  priority?: number;
  tags?: string[];
}

export interface ConcurrencyOptions {
  /** The call's key from its arguments (as an array), e.g. `(args) => args[0].tenantId`. */
  key: (args: any[]) => string;
  limit: number;
}

export interface RateLimitOptions {
  limit: number;
  /** The window's length, e.g. '1m'. Windows are fixed: they start at multiples of `per` since the epoch. */
  per: Duration;
  /** One window per key (from the call's arguments, as an array); without it, one window for the activity. */
  key?: (args: any[]) => string;
}

export interface ActivityOptions extends RoutingOptions {
  /** Durable identity. Default 'ClassName.method'. */
  name?: string;
  retry?: RetryOptions;
  /** Per-attempt time limit; when it elapses the attempt's AbortSignal fires and the attempt fails. */
  timeout?: Duration;
  /** Cluster-wide cap on attempts of this activity running at once. */
  maxConcurrent?: number;
  /**
   * Cluster-wide cap per key: at most `limit` attempts whose call gave the same `key(args)` run at once
   * (the key is computed when the call is recorded). Keys are served round-robin.
   */
  concurrency?: ConcurrencyOptions;
  /** At most `limit` attempts start per fixed window of `per` (per key when `key` is given), cluster-wide. */
  rateLimit?: RateLimitOptions;
  /**
   * Reuse the stored result of an earlier successful call with the same key (activity name, version
   * and arguments, or `key(...args)`) across executions, instead of running the body again.
   */
  idempotent?: boolean;
  /** Like idempotent, with an optional time to live for stored results. */
  cached?: boolean | { ttl: Duration };
  /** Custom cache/idempotency key from the arguments. */
  key?: (...args: any[]) => string;
  /** Part of the default key: bump it when the activity's result for the same arguments changes. */
  version?: string | number;
}

export interface WorkflowOptions extends RoutingOptions {
  /** Durable identity. Default: the class name. */
  name?: string;
  /** The execution ends as timed_out once it has run this long. */
  maxDuration?: Duration;
  /**
   * The version of this workflow's code (a whole number >= 0), recorded on each execution it starts. A
   * worker resumes only executions of versions it can replay: from `replaysFrom` up to this one, and
   * those not started yet. Unset: the worker takes every execution of the workflow, as before versions.
   */
  version?: number;
  /**
   * The oldest version this code can still replay (its changes since are behind Stent.patched()).
   * Default: `version` (only executions this very version started).
   */
  replaysFrom?: number;
  /**
   * Start it on a schedule (a cron expression in a time zone): one execution per tick however many
   * workers run, with the tick (ScheduleTick) as run()'s first argument. The schedule is named after the workflow.
   */
  schedule?: ScheduleOptions;
  /**
   * Cluster-wide cap per key: at most `limit` executions whose arguments gave the same `key(args)` hold a
   * worker at once (claimed and running its code, or waiting in memory; a suspended execution holds no
   * slot). The key is computed at dispatch. Executions beyond it stay pending; keys are served round-robin.
   */
  concurrency?: ConcurrencyOptions;
  /** At most `limit` executions start (first claim) per fixed window of `per` (per key when `key` is given), cluster-wide. */
  rateLimit?: RateLimitOptions;
}

export interface DispatchOptions extends RoutingOptions {
  /** Start no earlier than this from now. */
  delay?: Duration;
  /**
   * A second dispatch of the same workflow with the same key returns the first execution's id (its
   * arguments win); the key with another workflow is an IdempotencyConflictError.
   */
  idempotencyKey?: string;
  maxDuration?: Duration;
  /** Use this id for the new execution (must be unique). */
  executionId?: string;
  /**
   * The caller's open transaction (a TypeORM EntityManager) when Stent shares the application's
   * DataSource: the execution exists if and only if that transaction commits.
   */
  transaction?: unknown;
  /**
   * Dispatches of this workflow with the same key within `delay` of each other collapse into one execution,
   * which starts once `delay` passed without another (with the last dispatch's arguments), and never later
   * than `maxWait` after the first of them. Each returns that execution's id.
   */
  debounce?: { key: string; delay: Duration; maxWait?: Duration };
  /**
   * At most one execution of this workflow with this key goes on at a time. A dispatch while one does
   * waits its turn (onConflict 'wait', the default: it starts once the ones before it ended, in dispatch
   * order) or is refused with SingletonConflictError ('refuse'). A string is { key }.
   */
  singleton?: string | { key: string; onConflict?: 'wait' | 'refuse' };
}
