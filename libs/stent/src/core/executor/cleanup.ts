import { FINAL_STATES, type ExecutionState } from '../api/result.js';
import { parseDuration, type Duration } from '../api/duration.js';
import { InvalidFilterError } from '../errors/index.js';
import type { CleanupPosition, StentStore } from '../store/index.js';

/** What executor.cleanup removes. */
export interface CleanupOptions {
  /** Executions finished longer ago than this go (with their whole tree of child executions). */
  olderThan: Duration;
  /** Final states to remove (default all: completed, failed, cancelled, timed_out). */
  states?: ExecutionState | ExecutionState[];
  /** Report what would go without removing anything. */
  dryRun?: boolean;
  /** Top-level executions removed per transaction, 1 to 10000. Default 200. */
  batchSize?: number;
  /** Worker rows not heard from for this long go too. Default: olderThan. */
  workersOlderThan?: Duration;
}

/** What a cleanup removed (or, in a dry run, would remove). */
export interface CleanupReport {
  dryRun: boolean;
  /** Executions that finished before this time were eligible. */
  finishedBefore: Date;
  /** Executions removed, child executions included, with their journal steps, signals and dead letters. */
  executions: number;
  steps: number;
  signals: number;
  deadLetters: number;
  /** Eligible executions kept because something in their tree is still running (or was revived). */
  skipped: number;
  /** Expired cached activity results. */
  cacheRows: number;
  /** Worker rows long silent. */
  workers: number;
  /** Debounce and singleton rows whose execution ended, and flow-key rows whose window is over. */
  keyRows: number;
  batches: number;
}

export interface CleanupPlan {
  olderThanMs: number;
  states: ExecutionState[];
  dryRun: boolean;
  batchSize: number;
  workersOlderThanMs: number;
}

export const DEFAULT_CLEANUP_BATCH = 200;
const MAX_CLEANUP_BATCH = 10_000;

export function cleanupPlan(options: CleanupOptions): CleanupPlan {
  if (options === null || typeof options !== 'object') throw new InvalidFilterError('cleanup', 'options must be an object with olderThan');
  if (options.olderThan === undefined) throw new InvalidFilterError('olderThan', "is required (a duration such as '30d')");
  const olderThanMs = parseDuration(options.olderThan);
  const states = options.states === undefined ? [...FINAL_STATES] : Array.isArray(options.states) ? options.states : [options.states];
  if (states.length === 0) throw new InvalidFilterError('states', 'must name at least one final state');
  for (const state of states) {
    if (!(FINAL_STATES as readonly string[]).includes(state)) throw new InvalidFilterError('states', `only finished executions can be removed: use ${FINAL_STATES.join(', ')}, got ${JSON.stringify(state)}`);
  }
  const batchSize = options.batchSize ?? DEFAULT_CLEANUP_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_CLEANUP_BATCH) throw new InvalidFilterError('batchSize', `must be a whole number from 1 to ${MAX_CLEANUP_BATCH}`);
  return {
    olderThanMs,
    states: [...new Set(states)],
    dryRun: options.dryRun === true,
    batchSize,
    workersOlderThanMs: options.workersOlderThan === undefined ? olderThanMs : parseDuration(options.workersOlderThan),
  };
}

/**
 * Removes finished execution trees batch by batch (each its own short transaction, with a pause between
 * them so workers get the database), then expired cache rows, silent worker rows and spent key rows.
 */
export async function runCleanup(store: StentStore, plan: CleanupPlan, now: number, hygiene = true): Promise<CleanupReport> {
  const finishedBefore = now - plan.olderThanMs;
  const report = emptyReport(plan.dryRun, finishedBefore);
  let after: CleanupPosition | null = null;
  for (;;) {
    const batch = await store.cleanupBatch({ finishedBefore, states: plan.states, limit: plan.batchSize, after, dryRun: plan.dryRun });
    report.batches++;
    report.executions += batch.executions;
    report.steps += batch.steps;
    report.signals += batch.signals;
    report.deadLetters += batch.deadLetters;
    report.skipped += batch.skipped;
    after = batch.last;
    if (batch.scanned < plan.batchSize) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (hygiene) await runHygiene(store, plan, now, report);
  return report;
}

/**
 * Expired cache rows (in batches), worker rows silent for longer than workersOlderThanMs, and key rows
 * that no longer refer to live work (in batches).
 */
export async function runHygiene(store: StentStore, plan: Pick<CleanupPlan, 'dryRun' | 'batchSize' | 'workersOlderThanMs'>, now: number, report = emptyReport(plan.dryRun, now)): Promise<CleanupReport> {
  for (;;) {
    const removed = await store.removeExpiredCache(now, plan.batchSize, plan.dryRun);
    report.cacheRows += removed;
    if (plan.dryRun || removed < plan.batchSize) break;
  }
  report.workers = await store.removeSilentWorkers(now - plan.workersOlderThanMs, plan.dryRun);
  for (;;) {
    const { dispatchKeys, flowKeys } = await store.removeSpentKeys(now, plan.batchSize, plan.dryRun);
    report.keyRows += dispatchKeys + flowKeys;
    if (plan.dryRun || (dispatchKeys < plan.batchSize && flowKeys < plan.batchSize)) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return report;
}

function emptyReport(dryRun: boolean, finishedBefore: number): CleanupReport {
  return { dryRun, finishedBefore: new Date(finishedBefore), executions: 0, steps: 0, signals: 0, deadLetters: 0, skipped: 0, cacheRows: 0, workers: 0, keyRows: 0, batches: 0 };
}
