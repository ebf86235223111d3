import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../clock/clock.js';
import { checkRouting, getWorkflowDefinition, type AnyClass } from '../definitions/definitions.js';
import { parseOptionalDuration, type Duration } from '../api/duration.js';
import { ActivityFailedError, ConfigurationError, ExecutionFinishedError, ExecutionNotFoundError, UnknownWorkflowError, WorkflowCancelledError } from '../errors/index.js';
import { StentEvents } from '../events.js';
import { stderrLogger, type StentLogger } from '../logger.js';
import type { DispatchOptions } from '../api/options.js';
import { checkName } from '../definitions/names.js';
import { Registry, registerItem } from '../definitions/registry.js';
import type { ExecutionState, Result } from '../api/result.js';
import type { ExecutionId, Outcome, RunArgs, RunResult, WorkflowRef } from '../api/workflow-types.js';
import { decodeError, encode, encodeError } from '../serialization.js';
import type { ExecutionFilter, NewExecution, Page, StentStore } from '../store/index.js';
import { Worker, type WorkerOptions } from '../worker/worker.js';
import { deadLetterInfo, executionInfo, journalEntry, statsView, type DeadLetterInfo, type ExecutionInfo, type JournalEntry, type StentStats } from './execution-views.js';
import { BackgroundStart } from './background-start.js';
import { readinessOf, StartupRecord, type Readiness, type ReadinessDetail } from './readiness.js';
import { waitForEnd, type WaitForOptions } from './wait-for.js';

export type { DeadLetterInfo, ExecutionInfo, JournalEntry, StentStats } from './execution-views.js';
export type { Readiness, ReadinessDetail } from './readiness.js';
export type { WaitForOptions } from './wait-for.js';

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
  private migrating: Promise<void> | undefined;
  private readonly startup = new StartupRecord();
  private background: BackgroundStart | undefined;

  constructor(options: StentExecutorOptions) {
    this.store = options.store;
    this.logger = options.logger ?? stderrLogger;
    this.clock = options.clock ?? systemClock;
    this.worker = options.worker === false ? null : new Worker(this.store, this.registry, this.clock, this.logger, this.events, options.worker ?? {});
  }

  /**
   * Registers instances of workflow and activity classes (what the Nest module does from discovery), or
   * factories of them: a workflow registered by a factory runs each execution on a new object it makes.
   */
  register(...items: Array<object | (() => object)>): this {
    for (const item of items) registerItem(this.registry, item);
    return this;
  }

  /** Creates or upgrades the schema (once per executor, however many callers ask at the same time). */
  async migrate(): Promise<void> {
    if (this.migrated) return;
    this.migrating ??= this.store.migrate().finally(() => {
      this.migrating = undefined;
    });
    await this.migrating;
    this.migrated = true;
  }

  /**
   * Migrates if needed (unless `migrate: false`) and starts the worker. A failure is kept for readiness()
   * until a start succeeds.
   */
  async start(options: { migrate?: boolean } = {}): Promise<void> {
    try {
      if (options.migrate !== false) await this.migrate();
      await this.worker?.start();
      this.startup.succeeded();
    } catch (error) {
      this.startup.failed(error, this.clock.now());
      throw error;
    }
  }

  /**
   * start(), tried again with back-off (200 ms doubling to 10 s, on the executor's clock) until it works or
   * the executor is closed: what the Nest module does, so an application boots while its database is
   * down and its worker starts once the database answers. Meanwhile readiness() is 'starting', with why.
   * Resolves after the first try: true if it started, false if it failed (and is being tried again).
   */
  startInBackground(options: { migrate?: boolean } = {}): Promise<boolean> {
    this.background ??= new BackgroundStart(() => this.start(options), this.startup, this.clock, this.logger, async () => {
      await this.worker?.stop();
    });
    return this.background.run();
  }

  /** Stops claiming, lets in-flight work finish, releases leases. The store stays open. */
  async drain(timeout?: Duration): Promise<void> {
    await this.worker?.drain(timeout);
  }

  /** Drains and closes the database (a start still being tried is given up). */
  async close(timeout?: Duration): Promise<void> {
    this.background?.giveUp();
    await this.drain(timeout);
    await this.worker?.stop();
    await this.store.close();
  }

  /**
   * 'ready' while the worker claims work; 'api-only' without a worker; 'starting' before it started (or
   * while a start is being tried again); 'unavailable' when start() failed or claims keep failing (see
   * readinessDetail() for why); 'draining', 'stopped'.
   */
  readiness(): Readiness {
    return this.readinessDetail().readiness;
  }

  /** readiness() with the reason this process is not ready, the error behind it and since when. */
  readinessDetail(): ReadinessDetail {
    return readinessOf(this.worker, this.startup, this.store.connectionProblem?.());
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

  async getExecution(executionId: string): Promise<ExecutionInfo> {
    if (typeof executionId !== 'string' || executionId === '') throw new ExecutionNotFoundError(String(executionId));
    const record = await this.store.getExecution(executionId);
    if (!record) throw new ExecutionNotFoundError(executionId);
    return executionInfo(record);
  }

  async listExecutions(filter: ExecutionFilter = {}, page: Page = {}): Promise<{ items: ExecutionInfo[]; total: number; limit: number; offset: number }> {
    const limit = page.limit ?? 50;
    const offset = page.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ConfigurationError('listExecutions: limit must be between 1 and 1000');
    if (!Number.isInteger(offset) || offset < 0) throw new ConfigurationError('listExecutions: offset must be >= 0');
    const { items, total } = await this.store.listExecutions(filter, { limit, offset });
    return { items: items.map(executionInfo), total, limit, offset };
  }

  async getJournal(executionId: string): Promise<JournalEntry[]> {
    const record = await this.store.getExecution(executionId);
    if (!record) throw new ExecutionNotFoundError(executionId);
    const steps = await this.store.loadJournal(executionId);
    return steps.map(journalEntry);
  }

  /** The dead-letter queue: tasks that failed for good. */
  readonly dlq = {
    list: (page: Page = {}) => this.listDeadLetters(page),
    /** Resets the dead-lettered step and revives its (failed) execution from there; earlier steps are not run again. */
    replay: async (deadLetterId: string): Promise<{ executionId: string }> => this.store.replayDeadLetter(deadLetterId, this.clock.now()),
    discard: async (deadLetterId: string): Promise<void> => this.store.discardDeadLetter(deadLetterId),
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

  /** Tasks that failed for good, newest first. */
  async listDeadLetters(page: Page = {}): Promise<{ items: DeadLetterInfo[]; total: number }> {
    const { items, total } = await this.store.listDeadLetters({ limit: page.limit ?? 50, offset: page.offset ?? 0 });
    return { total, items: items.map(deadLetterInfo) };
  }

  /**
   * Counts across every process sharing the database (executions by state, activity backlog, dead
   * letters, workers and when each was last heard from) and this process's own worker.
   */
  async stats(): Promise<StentStats> {
    const now = this.clock.now();
    const stored = await this.store.stats(now);
    return statsView(stored, now, this.worker ? { id: this.worker.ownerId, readiness: this.readiness(), ...this.worker.stats() } : null);
  }
}
