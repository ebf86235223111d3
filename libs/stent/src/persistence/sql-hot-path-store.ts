import type {
  OtherVersionRecord,
  ClaimFilter,
  DeliveryRecord,
  ExecutionFence,
  ExecutionRecord,
  FinishOptions,
  LocalCompletion,
  NewExecution,
  NewStep,
  ReapResult,
  RenewResult,
  SignalTake,
  SlotHandOff,
  StepCompletion,
  StepRecord,
  WakeEvent,
  WorkerInfo,
  HotPathStore,
} from '../core/index.js';
import { postgresDialect } from './sql/postgres-dialect.js';
import type { SqlContext } from './sql/sql-context.js';
import { sqliteDialect } from './sql/sqlite-dialect.js';
import { SqlRepositories } from './sql-repositories.js';
import type { SqlStoreOptions } from './sql-store-options.js';
import { InsertedCalls } from './repositories/inserted-calls.js';
import { sqliteDataVersion } from './sqlite-data-version.js';

/**
 * The worker's side of the SQL store (the HotPathStore port): journals, claims, leases, step outcomes and
 * endings, each delegated to its repository. SqlStore adds what operators and the executor call.
 */
export class SqlHotPathStore implements HotPathStore {
  readonly dialect: string;
  protected readonly ctx: SqlContext;
  protected readonly repos: SqlRepositories;
  /** See HotPathStore.writesElsewhere: SQLite only (PostgreSQL's NOTIFY reaches every process). */
  readonly writesElsewhere?: () => Promise<number>;

  constructor(protected readonly options: SqlStoreOptions) {
    this.dialect = options.client.dialect;
    const ctx: SqlContext = {
      client: options.client,
      dialect: options.client.dialect === 'postgres' ? postgresDialect : sqliteDialect,
      t: options.tables,
      bus: options.bus,
      insertedCalls: options.client.dialect === 'sqlite' ? new InsertedCalls() : undefined,
    };
    this.ctx = ctx;
    this.repos = new SqlRepositories(ctx);
    if (ctx.dialect === sqliteDialect) this.writesElsewhere = () => sqliteDataVersion(options.client);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  subscribe(listener: (event: WakeEvent) => void): () => void {
    return this.ctx.bus.subscribe(listener);
  }

  // ---- executions and journals ---------------------------------------------------------------

  getExecution(id: string): Promise<ExecutionRecord | null> {
    return this.repos.executions.getExecution(id);
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

  keyedRoom(filter: ClaimFilter): Promise<string[]> {
    return this.repos.claims.keyedRoom(filter);
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

  // ---- signals, cache, dead letters, revive ---------------------------------------------------

  consumeSignal(fence: ExecutionFence, position: number, name: string, now: number, timeoutError: string | null): Promise<SignalTake> {
    return this.repos.signals.consume(fence, position, name, now, timeoutError);
  }

  lookupCache(key: string, now: number): Promise<string | null> {
    return this.repos.cache.lookup(key, now);
  }
}
