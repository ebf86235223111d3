import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../clock/clock.js';
import { checkRouting, getWorkflowDefinition, type AnyClass } from '../definitions/definitions.js';
import { parseOptionalDuration, type Duration } from '../api/duration.js';
import { ActivityFailedError, ConfigurationError, DeadLetterNotFoundError, ExecutionFinishedError, ExecutionNotFoundError, UnknownWorkflowError, WorkflowCancelledError } from '../errors/index.js';
import { StentEvents } from '../events.js';
import { stderrLogger, type StentLogger } from '../logger.js';
import type { DispatchOptions } from '../api/options.js';
import { checkName } from '../definitions/names.js';
import { Registry, registerItem } from '../definitions/registry.js';
import type { ExecutionState, Result } from '../api/result.js';
import type { ExecutionId, Outcome, RunArgs, RunResult, WorkflowRef } from '../api/workflow-types.js';
import { decodeError, encode, encodeError } from '../serialization.js';
import type { NewExecution, StentStore } from '../store/index.js';
import { Worker, type WorkerOptions } from '../worker/worker.js';
import { deadLetterInfo, executionInfo, journalEntry, statsView, type DeadLetterInfo, type ExecutionInfo, type JournalEntry, type Readiness, type StentStats } from './execution-views.js';
import { waitForEnd, type WaitForOptions } from './wait-for.js';
import { encodeCursor, executionFilter, executionPage, type ExecutionListFilter, type ExecutionListPage } from './operations/execution-query.js';
import { DETAIL_CHILD_LIMIT, executionDetail, type ExecutionDetail } from './operations/execution-detail.js';
import { checkReplayIds, deadLetterDetail, deadLetterQuery, MAX_BULK_REPLAY, replayEach, type BulkReplayOutcome, type DeadLetterDetail, type DeadLetterQuery } from './operations/dead-letter-ops.js';
import { workerView, type WorkerView } from './operations/workers-view.js';
import { queueLoad, throughputSince, throughputView } from './operations/load-view.js';
import { definitionsView, type DefinitionsView } from './operations/definitions-view.js';
import { InvalidFilterError } from '../errors/index.js';
import { cleanupPlan, runCleanup, type CleanupOptions, type CleanupReport } from './cleanup.js';
import { RetentionLoop, retentionSettings } from './retention-loop.js';

export type { CleanupOptions, CleanupReport } from './cleanup.js';

export type { DeadLetterInfo, ExecutionInfo, JournalEntry, Readiness, StentStats } from './execution-views.js';
export type { WaitForOptions } from './wait-for.js';
export type { ExecutionListFilter, ExecutionListPage, TimeInput } from './operations/execution-query.js';
export { EXECUTION_STATES } from './operations/execution-query.js';
export type { ExecutionDetail, ExecutionSummary } from './operations/execution-detail.js';
export type { BulkReplayOutcome, DeadLetterDetail, DeadLetterQuery } from './operations/dead-letter-ops.js';
export { MAX_BULK_REPLAY } from './operations/dead-letter-ops.js';
export type { WorkerStatus, WorkerView } from './operations/workers-view.js';
export type { QueueLoad, Throughput, ThroughputMinute } from './operations/load-view.js';
export type { ActivityDefinitionView, DefinitionsView, WorkflowDefinitionView } from './operations/definitions-view.js';
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './operations/page-limits.js';

/** One page of executions: `total` counts every match; `nextCursor` continues after this page (null at the end). */
export interface ExecutionList {
  items: ExecutionInfo[];
  total: number;
  limit: number;
  offset: number;
  nextCursor: string | null;
}

export interface StatsOptions {
  /** Minutes of throughput to report, 1 to 1440. Default 15. */
  throughputMinutes?: number;
}

export interface ListWorkersOptions {
  /** Also list workers stopped or silent within this long. Default '1h'. */
  recent?: Duration;
}

export interface StentExecutorOptions {
  store: StentStore;
  /** Worker settings, or false for a process that only dispatches and queries. */
  worker?: WorkerOptions | false;
  logger?: StentLogger;
  clock?: Clock;
}


/**
 * The entry point: dispatches executions, answers questions about them and owns this process's worker.
 * Usable on its own (CLI, tests, scripts) or through the Nest module.
 */
export class StentExecutor {
  readonly registry = new Registry();
  readonly events = new StentEvents();
  readonly store: StentStore;
  readonly worker: Worker | null;
  private readonly logger: StentLogger;
  private readonly clock: Clock;
  private migrated = false;
  private readonly retention: RetentionLoop | null;

  constructor(options: StentExecutorOptions) {
    this.store = options.store;
    this.logger = options.logger ?? stderrLogger;
    this.clock = options.clock ?? systemClock;
    this.worker = options.worker === false ? null : new Worker(this.store, this.registry, this.clock, this.logger, this.events, options.worker ?? {});
    const retention = options.worker ? options.worker.retention : undefined;
    this.retention = this.worker && retention ? new RetentionLoop(this.store, this.clock, this.logger, this.worker.ownerId, retentionSettings(retention)) : null;
  }

  /**
   * Registers instances of workflow and activity classes (what the Nest module does from discovery), or
   * factories of them: a workflow registered by a factory runs each execution on a new object it makes.
   */
  register(...items: Array<object | (() => object)>): this {
    for (const item of items) registerItem(this.registry, item);
    return this;
  }

  /** Creates or upgrades the schema. */
  async migrate(): Promise<void> {
    await this.store.migrate();
    this.migrated = true;
  }

  /** Migrates if needed and starts the worker. */
  async start(): Promise<void> {
    if (!this.migrated) await this.migrate();
    await this.worker?.start();
    this.retention?.start();
  }

  /** Stops claiming, lets in-flight work finish, releases leases. The store stays open. */
  async drain(timeout?: Duration): Promise<void> {
    await this.retention?.stop();
    await this.worker?.drain(timeout);
  }

  /** Drains and closes the database. */
  async close(timeout?: Duration): Promise<void> {
    await this.drain(timeout);
    await this.worker?.stop();
    await this.store.close();
  }

  /** 'ready' once the worker claims work; 'api-only' without a worker. */
  readiness(): Readiness {
    if (!this.worker) return 'api-only';
    switch (this.worker.state) {
      case 'idle':
        return 'starting';
      case 'running':
        return 'ready';
      case 'draining':
        return 'draining';
      default:
        return 'stopped';
    }
  }

  // ---- dispatch ------------------------------------------------------------------------------

  /** Starts an execution of `workflow`; resolves to its id, typed so waitFor knows what the workflow returns. */
  async dispatch<W>(workflow: WorkflowRef<W>, args: RunArgs<W>, options: DispatchOptions = {}): Promise<ExecutionId<W>> {
    const { name, queue, priority, tags, maxDurationMs } = this.resolveWorkflow(workflow);
    if (!Array.isArray(args)) throw new ConfigurationError(`dispatch(${name}): arguments must be given as an array`);
    const delayMs = parseOptionalDuration(options.delay) ?? 0;
    const maxDuration = parseOptionalDuration(options.maxDuration) ?? maxDurationMs;
    if (options === null || typeof options !== 'object') throw new ConfigurationError(`dispatch(${name}): options must be an object`);
    checkRouting(`dispatch(${name})`, options);
    if (options.executionId !== undefined) checkName('execution id', options.executionId);
    if (options.idempotencyKey !== undefined) checkName('idempotency key', options.idempotencyKey);
    const encodedArgs = encode(args, `${name}(args)`);
    const now = this.clock.now();
    const wakeAt = now + delayMs;
    const execution: NewExecution = {
      id: options.executionId ?? randomUUID(),
      workflowName: name,
      args: encodedArgs,
      queue: options.queue ?? queue,
      priority: options.priority ?? priority ?? 0,
      tags: options.tags ?? tags,
      parentId: null,
      parentPosition: null,
      idempotencyKey: options.idempotencyKey ?? null,
      createdAt: now,
      wakeAt,
      deadlineAt: maxDuration === null ? null : wakeAt + maxDuration,
      maxDurationMs: maxDuration,
    };
    // Work due now that this process's worker can run, when it knows of no backlog, is claimed as it is
    // inserted and started here (inside a caller's transaction it must wait for the commit: never).
    const local = delayMs === 0 && options.transaction === undefined && this.worker !== null && this.worker.reserveExecution(execution);
    let claimed = false;
    try {
      const inserted = await this.store.createExecution(execution, options.transaction);
      claimed = inserted.claimed;
      return inserted.id as ExecutionId<W>;
    } finally {
      if (local) this.worker!.startReservedExecution(execution, claimed);
    }
  }

  private resolveWorkflow(workflow: WorkflowRef<unknown>): { name: string; queue: string; priority: number | null; tags: string[]; maxDurationMs: number | null } {
    if (typeof workflow === 'string') {
      const registered = this.registry.workflow(workflow);
      if (registered) return { ...registered.definition };
      // Another process may run it; a name this process does not know is still refused so typos surface.
      throw new UnknownWorkflowError(workflow);
    }
    const definition = getWorkflowDefinition(workflow);
    if (!definition) throw new UnknownWorkflowError((workflow as AnyClass)?.name ?? String(workflow));
    return definition;
  }

  // ---- results -------------------------------------------------------------------------------

  /** Resolves once the execution is final. Only its own timeout throws; failures come back as a Result. */
  waitFor<W>(executionId: ExecutionId<W>, options?: WaitForOptions): Promise<Outcome<RunResult<W>>>;
  /** For an id that does not carry its workflow (say, read back from a database): R is what run() returns. */
  waitFor<R = unknown>(executionId: string, options?: WaitForOptions): Promise<Outcome<R>>;
  async waitFor(executionId: string, options: WaitForOptions = {}): Promise<Result<unknown, unknown>> {
    const world = { store: this.store, events: this.events, worker: this.worker, clock: this.clock };
    return waitForEnd(world, executionId, options);
  }

  // ---- signals and cancel --------------------------------------------------------------------

  /** Delivers a signal to a running (or not yet started) execution; kept until the workflow waits for it. */
  async sendSignal(executionId: string, name: string, payload?: unknown): Promise<void> {
    if (typeof executionId !== 'string' || executionId === '') throw new ExecutionNotFoundError(String(executionId));
    checkName('signal', name);
    const encoded = encode(payload, `signal '${name}'`);
    await this.store.sendSignal(executionId, name, encoded, this.clock.now());
  }

  /**
   * Cancels an execution and its child executions: pending steps are cancelled and running activities
   * see their AbortSignal fire. Cancelling an execution that already finished changes nothing and says so.
   */
  async cancel(executionId: string): Promise<{ cancelled: boolean; state: ExecutionState }> {
    if (typeof executionId !== 'string' || executionId === '') throw new ExecutionNotFoundError(String(executionId));
    const outcome = await this.store.cancelExecution(executionId, encodeError(new WorkflowCancelledError(executionId)), this.clock.now());
    return { cancelled: outcome.changed, state: outcome.state as ExecutionState };
  }

  // ---- queries -------------------------------------------------------------------------------

  /**
   * One execution with everything an operator needs: arguments, result or rebuilt error, progress,
   * counters, custom state, parent and children with their states, timings and attempt counts.
   */
  async getExecution(executionId: string): Promise<ExecutionDetail> {
    if (typeof executionId !== 'string' || executionId === '') throw new ExecutionNotFoundError(String(executionId));
    const record = await this.store.getExecution(executionId);
    if (!record) throw new ExecutionNotFoundError(executionId);
    const relatives = await this.store.executionRelatives(record, DETAIL_CHILD_LIMIT);
    return executionDetail(record, relatives, this.clock.now());
  }

  /**
   * Executions matching `filter`, newest first, one page at a time: by `offset`, or after `cursor` (the
   * previous page's nextCursor). A filter or page that cannot be applied is an InvalidFilterError /
   * InvalidCursorError (bad input).
   */
  async listExecutions(filter: ExecutionListFilter = {}, page: ExecutionListPage = {}): Promise<ExecutionList> {
    const storeFilter = executionFilter(filter);
    const storePage = executionPage(page);
    // One row more than asked tells whether another page follows.
    const { items, total } = await this.store.listExecutions(storeFilter, { ...storePage, limit: storePage.limit + 1 });
    const more = items.length > storePage.limit;
    const shown = more ? items.slice(0, storePage.limit) : items;
    const last = shown[shown.length - 1];
    return {
      items: shown.map(executionInfo),
      total,
      limit: storePage.limit,
      offset: storePage.offset ?? 0,
      nextCursor: more && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  }

  async getJournal(executionId: string): Promise<JournalEntry[]> {
    if (typeof executionId !== 'string' || executionId === '') throw new ExecutionNotFoundError(String(executionId));
    const record = await this.store.getExecution(executionId);
    if (!record) throw new ExecutionNotFoundError(executionId);
    const steps = await this.store.loadJournal(executionId);
    return steps.map(journalEntry);
  }

  /** The dead-letter queue: tasks that failed for good. */
  readonly dlq = {
    list: (query: DeadLetterQuery = {}) => this.listDeadLetters(query),
    get: (deadLetterId: string) => this.getDeadLetter(deadLetterId),
    /** Resets the dead-lettered step and revives its (failed) execution from there; earlier steps are not run again. */
    replay: async (deadLetterId: string): Promise<{ executionId: string }> => {
      if (typeof deadLetterId !== 'string' || deadLetterId === '') throw new DeadLetterNotFoundError(String(deadLetterId));
      return this.store.replayDeadLetter(deadLetterId, this.clock.now());
    },
    /** Replays each of `ids` (at most MAX_BULK_REPLAY); reports per id what was replayed and what could not be. */
    replayMany: async (ids: string[]): Promise<BulkReplayOutcome> => replayEach(checkReplayIds(ids), (id) => this.dlq.replay(id)),
    /** Replays every dead letter listed when it is called, oldest first. */
    replayAll: async (): Promise<BulkReplayOutcome> => {
      const ids: string[] = [];
      for (let offset = 0; ; offset += MAX_BULK_REPLAY) {
        const { items } = await this.store.listDeadLetters({}, { limit: MAX_BULK_REPLAY, offset });
        ids.push(...items.map((item) => item.id));
        if (items.length < MAX_BULK_REPLAY) break;
      }
      return replayEach(ids.reverse(), (id) => this.dlq.replay(id));
    },
    discard: async (deadLetterId: string): Promise<void> => {
      if (typeof deadLetterId !== 'string' || deadLetterId === '') throw new DeadLetterNotFoundError(String(deadLetterId));
      return this.store.discardDeadLetter(deadLetterId);
    },
  };

  /** Retries a failed execution: replays its latest dead-lettered task, or replays it from its journal. */
  async retry(executionId: string): Promise<void> {
    const record = await this.store.getExecution(executionId);
    if (!record) throw new ExecutionNotFoundError(executionId);
    if (record.state !== 'failed') throw new ExecutionFinishedError(executionId, `${record.state}: only failed executions can be retried`);
    // The step whose failure the workflow let through is retried; any other failure is replayed from the journal.
    // (In this execution, or in a child execution whose failure it let through: the chain is revived.)
    const cause = decodeError(record.error);
    const failedAt =
      cause instanceof ActivityFailedError && typeof cause.position === 'number' && typeof cause.executionId === 'string'
        ? { executionId: cause.executionId, position: cause.position }
        : undefined;
    const retried = failedAt !== undefined && (await this.store.retryFrom(executionId, failedAt, this.clock.now()));
    if (!retried) await this.store.reviveExecution(executionId, this.clock.now());
  }

  /** Alias of retry(), for executions that failed for a reason since fixed (e.g. a deploy). */
  resume(executionId: string): Promise<void> {
    return this.retry(executionId);
  }

  /** Tasks that failed for good, newest first; filter by executionId or name. */
  async listDeadLetters(query: DeadLetterQuery = {}): Promise<{ items: DeadLetterInfo[]; total: number; limit: number; offset: number }> {
    const { filter, page } = deadLetterQuery(query);
    const { items, total } = await this.store.listDeadLetters(filter, page);
    return { total, limit: page.limit, offset: page.offset, items: items.map(deadLetterInfo) };
  }

  /** One dead letter with the workflow and state of its execution. */
  async getDeadLetter(deadLetterId: string): Promise<DeadLetterDetail> {
    if (typeof deadLetterId !== 'string' || deadLetterId === '') throw new DeadLetterNotFoundError(String(deadLetterId));
    const record = await this.store.getDeadLetter(deadLetterId);
    if (!record) throw new DeadLetterNotFoundError(deadLetterId);
    return deadLetterDetail(record);
  }

  /**
   * Removes executions finished more than `olderThan` ago (in `states`, default every final state) with
   * their steps, signals, dead letters and child executions, when the whole tree is finished, in batches
   * of short transactions; then expired cache rows and worker rows silent that long. dryRun counts only.
   */
  async cleanup(options: CleanupOptions): Promise<CleanupReport> {
    return runCleanup(this.store, cleanupPlan(options), this.clock.now());
  }

  /** Worker processes on this database: live ones, and those stopped or gone silent within `recent` (default 1h). */
  async listWorkers(options: ListWorkersOptions = {}): Promise<WorkerView[]> {
    const recent = parseOptionalDuration(options.recent) ?? 3_600_000;
    const now = this.clock.now();
    return (await this.store.listWorkers(now - recent)).map((record) => workerView(record, now));
  }

  /** The workflows and activities this process registered, with their options (retry, queue, limits, time-outs). */
  listDefinitions(): DefinitionsView {
    return definitionsView(this.registry);
  }

  /**
   * Counts across every process sharing the database (executions by state, activity backlog and per
   * queue, dead letters, throughput per minute, workers and when each was last heard from) and this
   * process's own worker.
   */
  async stats(options: StatsOptions = {}): Promise<StentStats> {
    const minutes = options.throughputMinutes ?? 15;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) throw new InvalidFilterError('throughputMinutes', 'must be a whole number from 1 to 1440');
    const now = this.clock.now();
    const [stored, queues, throughput] = [await this.store.stats(now), await this.store.queueBacklog(now), await this.store.throughput(throughputSince(now, minutes))];
    return statsView(stored, now, this.worker ? { id: this.worker.ownerId, readiness: this.readiness(), ...this.worker.stats() } : null, {
      queues: queues.map((queue) => queueLoad(queue, now)),
      throughput: throughputView(throughput, now, minutes),
    });
  }
}
