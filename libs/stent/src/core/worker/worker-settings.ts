import { parseDuration, type Duration } from '../api/duration.js';
import { checkRouting } from '../definitions/definitions.js';
import { ConfigurationError } from '../errors/index.js';
import { checkName } from '../definitions/names.js';
import type { RetentionOptions } from '../api/retention-options.js';

export interface WorkerOptions {
  /** Activity attempts this process runs at once. Default 10. */
  concurrency?: number;
  /** Queues this worker serves. Default ['default']. */
  queues?: string[];
  /** When set, this worker only takes tasks that carry at least one of these tags. */
  tags?: string[];
  /** How long a claim holds without a heartbeat. Default '30s'. */
  lease?: Duration;
  /** How often leases are renewed. Default a third of the lease. */
  heartbeat?: Duration;
  /**
   * Shortest and longest pause between polls when no wake-up arrives. Defaults '100ms' and '1s'. On SQLite,
   * where no wake-up crosses processes, another process's commit brings the poll forward (see ChangeProbe).
   */
  pollInterval?: Duration;
  maxPollInterval?: Duration;
  /** A workflow waiting this long is suspended out of memory. Default '1s'. */
  suspendAfter?: Duration;
  /** Workflows held in memory at once. Default 1000. */
  maxActiveWorkflows?: number;
  /**
   * Suspended workflow runs kept in memory (least recently suspended dropped first), so that this worker
   * resumes one where it stopped instead of replaying its journal when it wakes. Default 100; 0: never.
   */
  keepSuspended?: number;
  /** A task reclaimed from crashed workers more often than this is dead-lettered. Default 5. */
  maxRecoveries?: number;
  /** How long drain() waits for running activities. Default '30s'. */
  shutdownTimeout?: Duration;
  /** How often to look for due work no live worker will take, and log a warning for it; false: never. Default '1m'. */
  unservedWarningInterval?: Duration | false;
  /**
   * Removes finished executions older than these ages, per final state (e.g. { completed: '7d', failed: '30d' }),
   * with expired cache rows and long-silent worker rows. One worker at a time applies it, once per interval.
   */
  retention?: RetentionOptions;
  /**
   * Journal size limits, in steps per execution: past `warnAt` a warning is logged (once per execution),
   * at `limit` the execution fails with JournalLimitError. Defaults 10,000 and 100,000. A workflow that
   * loops for long should call Stent.continueAsNew well before.
   */
  journal?: { warnAt?: number; limit?: number };
  /**
   * Fire due schedules (cron workflows): how often this worker looks for them, or false for a worker that
   * never fires them. Default { checkInterval: '1s' }. However many workers look, each tick runs once.
   */
  schedules?: false | { checkInterval?: Duration };
}

export type WorkerState = 'idle' | 'running' | 'draining' | 'stopped';

/** WorkerOptions resolved: durations in milliseconds, defaults applied. */
export interface WorkerSettings {
  concurrency: number;
  queues: string[];
  tags: string[];
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  maxPollMs: number;
  suspendAfterMs: number;
  maxActiveWorkflows: number;
  keepSuspended: number;
  maxRecoveries: number;
  shutdownTimeoutMs: number;
  /** null: no unserved-work warnings. */
  unservedWarningMs: number | null;
  journalWarnAt: number;
  journalLimit: number;
}

export function workerSettings(options: WorkerOptions): WorkerSettings {
  const leaseMs = parseDuration(options.lease ?? '30s');
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigurationError(`worker.concurrency must be a whole number >= 1, got ${concurrency}`);
  const queues = options.queues ?? ['default'];
  if (!Array.isArray(queues) || queues.length === 0) throw new ConfigurationError('worker.queues must list at least one queue');
  for (const queue of queues) checkName('queue', queue);
  checkRouting('worker', { tags: options.tags });
  const keepSuspended = options.keepSuspended ?? 100;
  if (!Number.isInteger(keepSuspended) || keepSuspended < 0) throw new ConfigurationError(`worker.keepSuspended must be a whole number >= 0, got ${keepSuspended}`);
  const journalLimit = options.journal?.limit ?? 100_000;
  const journalWarnAt = options.journal?.warnAt ?? Math.min(10_000, journalLimit);
  if (!Number.isSafeInteger(journalLimit) || journalLimit < 1) throw new ConfigurationError(`worker.journal.limit must be a whole number >= 1, got ${journalLimit}`);
  if (!Number.isSafeInteger(journalWarnAt) || journalWarnAt < 1 || journalWarnAt > journalLimit) {
    throw new ConfigurationError(`worker.journal.warnAt must be a whole number from 1 to the limit (${journalLimit}), got ${journalWarnAt}`);
  }
  return {
    journalWarnAt,
    journalLimit,
    concurrency,
    queues,
    tags: options.tags ?? [],
    leaseMs,
    heartbeatMs: options.heartbeat === undefined ? Math.max(50, Math.floor(leaseMs / 3)) : parseDuration(options.heartbeat),
    pollMs: parseDuration(options.pollInterval ?? '100ms'),
    maxPollMs: parseDuration(options.maxPollInterval ?? '1s'),
    suspendAfterMs: parseDuration(options.suspendAfter ?? '1s'),
    maxActiveWorkflows: options.maxActiveWorkflows ?? 1000,
    keepSuspended,
    maxRecoveries: options.maxRecoveries ?? 5,
    shutdownTimeoutMs: parseDuration(options.shutdownTimeout ?? '30s'),
    unservedWarningMs: options.unservedWarningInterval === false ? null : parseDuration(options.unservedWarningInterval ?? '1m'),
  };
}
