import type {
  ForkRequest,
  OtherVersionRecord,
  CleanupBatchRequest,
  CleanupBatchResult,
  SpentKeyCounts,
  ClaimFilter,
  DeadLetterDetailRecord,
  DeadLetterFilter,
  DeadLetterRecord,
  DeliveryRecord,
  ExecutionFence,
  ExecutionFilter,
  ExecutionPage,
  ExecutionRecord,
  ExecutionRelativesRecord,
  ExternalTransaction,
  FinishOptions,
  LocalCompletion,
  NewExecution,
  NewStep,
  Page,
  QueueBacklogRecord,
  ReapResult,
  RenewResult,
  SignalTake,
  SlotHandOff,
  StentStore,
  StepCompletion,
  StepRecord,
  StreamEntryRecord,
  StoreStats,
  ThroughputRecord,
  DueWorkRecord,
  WakeEvent,
  WorkerInfo,
  WorkerRecord,
  ScheduleFired,
  ScheduleFiring,
  ScheduleRecord,
  PauseKind,
  PauseRecord,
  DebounceRequest,
  SingletonRelease,
  SingletonRequest,
} from '../core/index.js';
import { postgresDialect } from './sql/postgres-dialect.js';
import type { SqlContext } from './sql/sql-context.js';
import { sqliteDialect } from './sql/sqlite-dialect.js';
import { SqlRepositories } from './sql-repositories.js';
import type { SqlStoreOptions } from './sql-store-options.js';

export type { SqlStoreOptions } from './sql-store-options.js';

/**
 * The engine's storage on SQL, shared by SQLite and PostgreSQL: the StentStore port, each concern in its
 * repository (repositories/), the differences between the databases in a Dialect (sql/). Every write a
 * worker makes for something it claimed names the lease owner and epoch it holds, so a worker that lost
 * its lease changes nothing.
 */
export class SqlStore implements StentStore {
  readonly dialect: string;
  private readonly ctx: SqlContext;
  private readonly repos: SqlRepositories;
  private closed = false;

  constructor(private readonly options: SqlStoreOptions) {
    this.dialect = options.client.dialect;
    const ctx: SqlContext = {
      client: options.client,
      dialect: options.client.dialect === 'postgres' ? postgresDialect : sqliteDialect,
      t: options.tables,
      bus: options.bus,
    };
    this.ctx = ctx;
    this.repos = new SqlRepositories(ctx);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  subscribe(listener: (event: WakeEvent) => void): () => void {
    return this.ctx.bus.subscribe(listener);
  }

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

  getExecution(id: string): Promise<ExecutionRecord | null> {
    return this.repos.executions.getExecution(id);
  }

  getEvent(executionId: string, key: string): Promise<string | null> {
    return this.repos.published.getEvent(executionId, key);
  }

  readStream(executionId: string, key: string, fromSeq: number, limit: number): Promise<StreamEntryRecord[]> {
    return this.repos.published.readStream(executionId, key, fromSeq, limit);
  }

  loadJournal(executionId: string): Promise<StepRecord[]> {
    return this.repos.journal.load(executionId);
  }

  loadSteps(executionId: string, positions: number[]): Promise<StepRecord[]> {
    return this.repos.journal.loadSteps(executionId, positions);
  }

  loadStepsOf(requests: Array<{ executionId: string; positions: number[] }>): Promise<StepRecord[]> {
    return this.repos.journal.loadStepsOf(requests);
  }

  createExecutionWithSteps(execution: NewExecution, steps: NewStep[]): Promise<{ id: string; created: boolean; claimed: boolean }> {
    return steps.length === 0 ? this.repos.executions.createExecution(execution) : this.repos.executions.createWithSteps(execution, steps);
  }

  insertSteps(fence: ExecutionFence, steps: NewStep[], deliveries?: DeliveryRecord[], completions?: LocalCompletion[]): Promise<boolean> {
    return this.repos.journal.insert(fence, steps, deliveries, completions);
  }

  discardSteps(fence: ExecutionFence, positions: number[], reviveSettled?: boolean): Promise<boolean> {
    return this.repos.journal.discardSteps(fence, positions, reviveSettled);
  }

  confirmSteps(fence: ExecutionFence, positions: number[]): Promise<boolean> {
    return this.repos.journal.confirmSteps(fence, positions);
  }

  resolveStep(fence: ExecutionFence, position: number, state: 'completed' | 'failed', result: string | null, error: string | null, now: number): Promise<boolean> {
    return this.repos.journal.resolveStep(fence, position, state, result, error, now);
  }

  completeSteps(completions: StepCompletion[]): Promise<boolean[]> {
    return this.repos.completions.complete(completions);
  }

  completeHandingOff(completions: StepCompletion[], handOff: SlotHandOff): Promise<{ owned: boolean[]; started: StepRecord[] }> {
    return this.repos.completions.completeHandingOff(completions, handOff);
  }

  // ---- claims and leases ---------------------------------------------------------------------

  claimExecutions(filter: ClaimFilter): Promise<ExecutionRecord[]> {
    return this.repos.claims.claimExecutions(filter);
  }

  claimSteps(filter: ClaimFilter): Promise<StepRecord[]> {
    return this.repos.claims.claimSteps(filter);
  }

  hasSuspects(filter: ClaimFilter): Promise<boolean> {
    return this.repos.claims.hasSuspects(filter);
  }

  otherVersionsDue(filter: ClaimFilter): Promise<OtherVersionRecord[]> {
    return this.repos.claims.otherVersionsDue(filter);
  }

  takeWokenExecutions(owner: string, now: number): Promise<Array<{ id: string; epoch: number }>> {
    return this.repos.claims.takeWokenExecutions(owner, now);
  }

  renewLeases(owner: string, now: number, leaseMs: number, held: { executions: string[]; steps: string[] }): Promise<RenewResult> {
    return this.repos.leases.renew(owner, now, leaseMs, held);
  }

  releaseExecution(fence: ExecutionFence, now: number): Promise<void> {
    return this.repos.leases.releaseExecution(fence, now);
  }

  releaseLeases(owner: string, now: number): Promise<void> {
    return this.repos.leases.releaseAll(owner, now);
  }

  forfeitLeases(owner: string): Promise<void> {
    return this.repos.leases.forfeit(owner);
  }

  reapExpiredLeases(now: number, maxRecoveries: number): Promise<ReapResult> {
    return this.repos.leases.reapExpired(now, maxRecoveries);
  }

  recordWorker(owner: string, info: WorkerInfo): Promise<void> {
    return this.repos.workers.record(owner, info);
  }

  countPeers(owner: string, since: number): Promise<number> {
    return this.repos.workers.countPeers(owner, since);
  }

  // ---- endings -------------------------------------------------------------------------------

  suspendExecution(fence: ExecutionFence, wakeAt: number | null, awaitedPositions: number[], awaitedSignals: string[], now: number, deliveries?: DeliveryRecord[]): Promise<boolean> {
    return this.repos.endings.suspend(fence, wakeAt, awaitedPositions, awaitedSignals, now, deliveries);
  }

  finishExecution(fence: ExecutionFence, state: 'completed' | 'failed' | 'timed_out', result: string | null, error: string | null, now: number, options?: FinishOptions): Promise<boolean> {
    return this.repos.endings.finish(fence, state, result, error, now, options);
  }

  finishHandingOff(
    fence: ExecutionFence,
    state: 'completed' | 'failed' | 'timed_out',
    result: string | null,
    error: string | null,
    now: number,
    options: FinishOptions,
    handOff: SlotHandOff,
  ): Promise<{ ok: boolean; started: StepRecord[] }> {
    return this.repos.endings.finishHandingOff(fence, state, result, error, now, options, handOff);
  }

  failExecutionDeadLettered(fence: ExecutionFence, error: string, reason: string, now: number, deliveries?: DeliveryRecord[]): Promise<boolean> {
    return this.repos.endings.failDeadLettered(fence, error, reason, now, deliveries);
  }

  cancelExecution(executionId: string, error: string, now: number): Promise<{ changed: boolean; state: string; cancelled: string[] }> {
    return this.repos.endings.cancel(executionId, error, now);
  }

  // ---- signals, cache, dead letters, revive ---------------------------------------------------

  sendSignal(executionId: string, name: string, payload: string, now: number): Promise<void> {
    return this.repos.signals.send(executionId, name, payload, now);
  }

  consumeSignal(fence: ExecutionFence, position: number, name: string, now: number, timeoutError: string | null): Promise<SignalTake> {
    return this.repos.signals.consume(fence, position, name, now, timeoutError);
  }

  lookupCache(key: string, now: number): Promise<string | null> {
    return this.repos.cache.lookup(key, now);
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
