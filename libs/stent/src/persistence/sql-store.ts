import type {
  ForkRequest,
  CleanupBatchRequest,
  CleanupBatchResult,
  SpentKeyCounts,
  DeadLetterDetailRecord,
  DeadLetterFilter,
  DeadLetterRecord,
  ExecutionFilter,
  ExecutionPage,
  ExecutionRecord,
  ExecutionRelativesRecord,
  ExternalTransaction,
  NewExecution,
  Page,
  QueueBacklogRecord,
  StreamEntryRecord,
  StoreStats,
  ThroughputRecord,
  DueWorkRecord,
  WorkerRecord,
  ScheduleFired,
  ScheduleFiring,
  ScheduleRecord,
  PauseKind,
  PauseRecord,
  DebounceRequest,
  SingletonRelease,
  SingletonRequest,
  StentStore,
} from '../core/index.js';
import { SqlHotPathStore } from './sql-hot-path-store.js';

export type { SqlStoreOptions } from './sql-store-options.js';

/**
 * The engine's storage on SQL, shared by SQLite and PostgreSQL: the StentStore port, each concern in its
 * repository (repositories/), the differences between the databases in a Dialect (sql/). The worker's
 * hot path is SqlHotPathStore's; this adds the executor's operations, admin queries, housekeeping,
 * schedules, pauses and keyed dispatches. Every write a worker makes for something it claimed names the
 * lease owner and epoch it holds, so a worker that lost its lease changes nothing.
 */
export class SqlStore extends SqlHotPathStore implements StentStore {
  private closed = false;

  // ---- lifecycle -----------------------------------------------------------------------------

  migrate(): Promise<void> {
    return this.options.migrate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ctx.client.close();
    await this.options.onClose?.();
  }

  /**
   * Whether the first attempt to reach the database succeeded (resolves once it was made): lets an
   * application decide not to wait for a database that is down.
   */
  firstConnectAttempt(): Promise<boolean> {
    return this.options.firstConnectAttempt?.() ?? Promise.resolve(true);
  }

  connectionProblem(): unknown {
    return this.options.connectionProblem?.();
  }

  async ping(): Promise<void> {
    await this.ctx.client.query('SELECT 1 AS ok');
  }

  now(): number {
    return Date.now();
  }

  // ---- executions and journals ---------------------------------------------------------------

  createExecution(execution: NewExecution, transaction?: ExternalTransaction): Promise<{ id: string; created: boolean; claimed: boolean }> {
    return this.repos.executions.createExecution(execution, transaction);
  }

  getEvent(executionId: string, key: string): Promise<string | null> {
    return this.repos.published.getEvent(executionId, key);
  }

  readStream(executionId: string, key: string, fromSeq: number, limit: number): Promise<StreamEntryRecord[]> {
    return this.repos.published.readStream(executionId, key, fromSeq, limit);
  }

  finalAmong(ids: string[]): Promise<string[]> {
    return this.repos.executions.finalAmong(ids);
  }

  // ---- endings -------------------------------------------------------------------------------

  cancelExecution(executionId: string, error: string, now: number): Promise<{ changed: boolean; state: string; cancelled: string[] }> {
    return this.repos.endings.cancel(executionId, error, now);
  }

  // ---- signals, cache, dead letters, revive ---------------------------------------------------

  sendSignal(executionId: string, name: string, payload: string, now: number): Promise<void> {
    return this.repos.signals.send(executionId, name, payload, now);
  }

  replayDeadLetter(deadLetterId: string, now: number): Promise<{ executionId: string }> {
    return this.repos.revival.replayDeadLetter(deadLetterId, now);
  }

  discardDeadLetter(deadLetterId: string): Promise<void> {
    return this.repos.deadLetters.discard(deadLetterId);
  }

  forkExecution(request: ForkRequest): Promise<void> {
    return this.repos.history.fork(request);
  }

  rewindExecution(executionId: string, fromPosition: number, now: number): Promise<void> {
    return this.repos.history.rewind(executionId, fromPosition, now);
  }

  retryFrom(executionId: string, failedAt: { executionId: string; position: number }, now: number): Promise<boolean> {
    return this.repos.revival.retryFrom(executionId, failedAt, now);
  }

  reviveExecution(executionId: string, now: number): Promise<void> {
    return this.repos.revival.revive(executionId, now);
  }

  // ---- admin queries -------------------------------------------------------------------------

  listExecutions(filter: ExecutionFilter, page: ExecutionPage): Promise<{ items: ExecutionRecord[]; total: number }> {
    return this.repos.adminExecutions.list(filter, page);
  }

  executionRelatives(execution: ExecutionRecord, childLimit: number): Promise<ExecutionRelativesRecord> {
    return this.repos.adminExecutions.relatives(execution, childLimit);
  }

  listDeadLetters(filter: DeadLetterFilter, page: Page): Promise<{ items: DeadLetterRecord[]; total: number }> {
    return this.repos.adminDeadLetters.list(filter, page);
  }

  getDeadLetter(id: string): Promise<DeadLetterDetailRecord | null> {
    return this.repos.adminDeadLetters.get(id);
  }

  listWorkers(since: number): Promise<WorkerRecord[]> {
    return this.repos.adminWorkers.list(since);
  }

  queueBacklog(now: number): Promise<QueueBacklogRecord[]> {
    return this.repos.adminLoad.queueBacklog(now);
  }

  throughput(since: number): Promise<ThroughputRecord[]> {
    return this.repos.adminLoad.throughput(since);
  }

  dueWork(now: number): Promise<DueWorkRecord[]> {
    return this.repos.adminLoad.dueWork(now);
  }

  stats(now: number): Promise<StoreStats> {
    return this.repos.admin.stats(now);
  }

  // ---- housekeeping --------------------------------------------------------------------------

  cleanupBatch(request: CleanupBatchRequest): Promise<CleanupBatchResult> {
    return this.repos.cleanup.batch(request);
  }

  removeExpiredCache(now: number, limit: number, dryRun: boolean): Promise<number> {
    return this.repos.cleanup.removeExpiredCache(now, limit, dryRun);
  }

  removeSilentWorkers(before: number, dryRun: boolean): Promise<number> {
    return this.repos.cleanup.removeSilentWorkers(before, dryRun);
  }

  removeSpentKeys(now: number, limit: number, dryRun: boolean): Promise<SpentKeyCounts> {
    return this.repos.keyCleanup.removeSpentKeys(now, limit, dryRun);
  }

  claimMaintenance(name: string, owner: string, now: number, nextRunAt: number): Promise<boolean> {
    return this.repos.cleanup.claimMaintenance(name, owner, now, nextRunAt);
  }

  // ---- schedules -----------------------------------------------------------------------------

  createSchedule(schedule: ScheduleRecord): Promise<boolean> {
    return this.repos.schedules.create(schedule);
  }

  syncDeclaredSchedule(schedule: ScheduleRecord): Promise<void> {
    return this.repos.schedules.syncDeclared(schedule);
  }

  updateSchedule(schedule: ScheduleRecord): Promise<boolean> {
    return this.repos.schedules.update(schedule);
  }

  deleteSchedule(name: string): Promise<boolean> {
    return this.repos.schedules.delete(name);
  }

  getSchedule(name: string): Promise<ScheduleRecord | null> {
    return this.repos.schedules.get(name);
  }

  listSchedules(): Promise<ScheduleRecord[]> {
    return this.repos.schedules.list();
  }

  dueSchedules(now: number): Promise<ScheduleRecord[]> {
    return this.repos.schedules.due(now);
  }

  fireSchedule(firing: ScheduleFiring): Promise<ScheduleFired> {
    return this.repos.schedules.fire(firing);
  }

  createScheduledRuns(name: string, executions: NewExecution[], recordLast: boolean): Promise<string[]> {
    return this.repos.schedules.createRuns(name, executions, recordLast);
  }

  // ---- pauses --------------------------------------------------------------------------------

  setPaused(kind: PauseKind, name: string, paused: boolean, now: number): Promise<boolean> {
    return this.repos.pauses.setPaused(kind, name, paused, now);
  }

  listPaused(): Promise<PauseRecord[]> {
    return this.repos.pauses.list();
  }

  // ---- debounced and singleton dispatches ----------------------------------------------------

  createDebounced(execution: NewExecution, debounce: DebounceRequest, now: number): Promise<{ id: string; created: boolean }> {
    return this.repos.dispatchKeys.createDebounced(execution, debounce, now);
  }

  createSingleton(execution: NewExecution, singleton: SingletonRequest, now: number): Promise<{ id: string; queued: boolean }> {
    return this.repos.dispatchKeys.createSingleton(execution, singleton, now);
  }

  releaseSingletons(now: number): Promise<SingletonRelease> {
    return this.repos.dispatchKeys.releaseSingletons(now);
  }

}
