import { systemClock, type Clock } from '../clock/clock.js';
import { parseOptionalDuration, type Duration } from '../api/duration.js';
import { ExecutionNotFoundError, WorkflowCancelledError } from '../errors/index.js';
import { StentEvents } from '../events.js';
import { stderrLogger, type StentLogger } from '../logger.js';
import { logLifecycle } from '../lifecycle-log.js';
import type { StentTelemetry } from '../telemetry.js';
import type { DispatchOptions } from '../api/options.js';
import { checkName } from '../definitions/names.js';
import { Registry, registerItem } from '../definitions/registry.js';
import type { ExecutionState, Result } from '../api/result.js';
import type { ExecutionId, Outcome, RunArgs, RunResult, WorkflowRef } from '../api/workflow-types.js';
import { encode, encodeError } from '../serialization.js';
import type { StentStore } from '../store/index.js';
import { Worker, type WorkerOptions } from '../worker/worker.js';
import { journalEntry, type DeadLetterInfo, type JournalEntry, type StentStats } from './execution-views.js';
import { BackgroundStart } from './background-start.js';
import { readinessOf, StartupRecord, type Readiness, type ReadinessDetail } from './readiness.js';
import { waitForChain, type WaitForOptions } from './wait-for.js';
import { forkExecution, retryExecution, rewindExecution, type ForkOptions } from './history-ops.js';
import { withCodec } from '../codec/codec-store.js';
import { getEvent, readStream, type GetEventOptions, type ReadStreamOptions, type StreamChunk } from './published-values.js';
import type { ExecutionListFilter, ExecutionListPage } from './operations/execution-query.js';
import { listExecutionPage } from './operations/execution-listing.js';
import { DETAIL_CHILD_LIMIT, executionDetail, type ExecutionDetail } from './operations/execution-detail.js';
import type { DeadLetterDetail, DeadLetterQuery } from './operations/dead-letter-ops.js';
import { DeadLetterQueue } from './operations/dead-letter-queue.js';
import { workerView, type WorkerView } from './operations/workers-view.js';
import { definitionsView, type DefinitionsView } from './operations/definitions-view.js';
import { unservedWorkAt, type UnservedWork } from './operations/unserved-work.js';
import { collectStats } from './operations/stats-collection.js';
import { UnservedWatch } from './unserved-watch.js';
import { cleanupPlan, runCleanup, type CleanupOptions, type CleanupReport } from './cleanup.js';
import { RetentionLoop, retentionSettings } from './retention-loop.js';
import { resolveWorkflow, routeFromWorkers, type ResolvedWorkflow } from './workflow-resolution.js';
import { ScheduleOperations } from '../schedules/schedule-operations.js';
import { FlowControlLoops } from './flow-control-loops.js';
import { PauseOperations, type PausedInfo, type PauseOutcome } from './pause-operations.js';
import { createKeyed } from './dispatch-keys.js';
import { planDispatch } from './dispatch-plan.js';
import { OutsideChanges } from './outside-changes.js';
import type { ExecutionList, ListWorkersOptions, StatsOptions, StentExecutorOptions } from './executor-options.js';

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
  private readonly unservedWatch: UnservedWatch;
  private readonly workflowsFromWorkers: boolean;
  private readonly telemetry: StentTelemetry | undefined;
  private migrated = false;
  private migrating: Promise<void> | undefined;
  private readonly startup = new StartupRecord();
  private background: BackgroundStart | undefined;
  private readonly retention: RetentionLoop | null;
  private readonly flowLoops: FlowControlLoops | null;
  /**
   * Schedules kept in the database (create, update, pause, resume, delete, list, trigger, backfill);
   * workers fire them, one execution per tick across all of them.
   */
  readonly schedules: ScheduleOperations;
  /** The dead-letter queue: tasks that failed for good. */
  readonly dlq: DeadLetterQueue;
  private readonly pauses: PauseOperations;
  /** What waits here learn of other processes' writes where no wake event crosses processes (SQLite); undefined elsewhere. */
  private readonly outside: OutsideChanges | undefined;

  constructor(options: StentExecutorOptions) {
    this.store = options.codec ? withCodec(options.store, options.codec) : options.store;
    this.logger = options.logger ?? stderrLogger;
    this.clock = options.clock ?? systemClock;
    this.unservedWatch = new UnservedWatch(this.clock, this.logger, () => this.unservedWork());
    this.workflowsFromWorkers = options.workflowsFromWorkers === true;
    logLifecycle(this.events, this.logger);
    this.telemetry = options.telemetry;
    this.telemetry?.attach({ events: this.events, store: this.store, now: () => this.clock.now() });
    this.worker = options.worker === false ? null : new Worker(this.store, this.registry, this.clock, this.logger, this.events, options.worker ?? {});
    if (this.worker && this.telemetry) this.worker.attemptWrapper = (stepId, body) => this.telemetry!.runAttempt(stepId, body);
    const retention = options.worker ? options.worker.retention : undefined;
    this.retention = this.worker && retention ? new RetentionLoop(this.store, this.clock, this.logger, this.worker.ownerId, retentionSettings(retention)) : null;
    this.flowLoops = this.worker ? new FlowControlLoops(this.worker, this.store, this.registry, this.clock, this.logger, options.worker ? options.worker.schedules : undefined) : null;
    this.pauses = new PauseOperations(this.store, this.clock, async () => this.flowLoops?.readPausedQueues());
    this.dlq = new DeadLetterQueue(this.store, this.clock);
    this.outside = this.store.writesElsewhere ? new OutsideChanges(this.clock, { mark: () => this.store.writesElsewhere!(), finalAmong: (ids) => this.store.finalAmong(ids) }) : undefined;
    this.schedules = new ScheduleOperations({
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      resolve: (workflow) => this.resolveWorkflow(workflow as WorkflowRef<unknown>),
    });
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
      const every = this.worker?.settings.unservedWarningMs;
      if (every) this.unservedWatch.start(every);
      this.retention?.start();
      await this.flowLoops?.start();
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
    this.unservedWatch.stop();
    await this.retention?.stop();
    await this.flowLoops?.stop();
    await this.worker?.drain(timeout);
  }

  /** Drains and closes the database (a start still being tried is given up). */
  async close(timeout?: Duration): Promise<void> {
    this.background?.giveUp();
    await this.drain(timeout);
    await this.worker?.stop();
    this.telemetry?.detach();
    this.outside?.stop();
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
    const now = this.clock.now();
    const { execution, keys, delayMs, trace } = planDispatch(await this.resolveWorkflow(workflow), args, options, now, this.telemetry);
    // Work due now that this process's worker can run, when it knows of no backlog, is claimed as it is
    // inserted and started here (inside a caller's transaction it must wait for the commit: never).
    if (keys.singleton) this.flowLoops?.singletonDispatched();
    if (keys.debounce || keys.singleton) return (await createKeyed(this.store, execution, keys, now, trace)) as ExecutionId<W>;
    // Such a run starts at once and its first write inserts the execution with its first steps (one commit
    // for both); the dispatch resolves once that is done (see ExecutionBirth). Not under an idempotency key:
    // a dispatch that finds its key taken must not run workflow code, so that one is inserted first.
    const local = delayMs === 0 && options.transaction === undefined && this.worker !== null && this.worker.local.reserveExecution(execution);
    const born = local && execution.idempotencyKey === null;
    let claimed = false;
    try {
      const inserted = born ? await this.worker!.local.startDispatched(execution) : await this.store.createExecution(execution, options.transaction);
      claimed = inserted.claimed;
      trace?.end({ executionId: inserted.id, created: inserted.created });
      return inserted.id as ExecutionId<W>;
    } catch (error) {
      trace?.end({ error });
      throw error;
    } finally {
      if (local && !born) this.worker!.local.startReservedExecution(execution, claimed);
    }
  }

  /** A registered workflow's options, or (a name this process does not run) the route its workers announce. */
  private async resolveWorkflow(workflow: WorkflowRef<unknown>): Promise<ResolvedWorkflow> {
    return resolveWorkflow(this.registry, workflow, this.workflowsFromWorkers) ?? routeFromWorkers(workflow as string, await this.listWorkers({ recent: '1h' }));
  }

  // ---- results -------------------------------------------------------------------------------

  /** Resolves once the execution is final. Only its own timeout throws; failures come back as a Result. */
  waitFor<W>(executionId: ExecutionId<W>, options?: WaitForOptions): Promise<Outcome<RunResult<W>>>;
  /** For an id that does not carry its workflow (say, read back from a database): R is what run() returns. */
  waitFor<R = unknown>(executionId: string, options?: WaitForOptions): Promise<Outcome<R>>;
  async waitFor(executionId: string, options: WaitForOptions = {}): Promise<Result<unknown, unknown>> {
    const world = { store: this.store, events: this.events, worker: this.worker, clock: this.clock, outside: this.outside };
    return waitForChain(world, executionId, options);
  }

  /** The value the execution set with Stent.setEvent(key, ...), once it has (see GetEventOptions). */
  async getEvent<T = unknown>(executionId: string, key: string, options: GetEventOptions = {}): Promise<T> {
    return (await getEvent({ store: this.store, clock: this.clock, outside: this.outside }, executionId, key, options)) as T;
  }

  /** The chunks the execution writes to stream `key`, each once and in order, until it closes the stream or ends. */
  readStream<T = unknown>(executionId: string, key: string, options: ReadStreamOptions = {}): AsyncGenerator<StreamChunk<T>, void, undefined> {
    return readStream<T>({ store: this.store, clock: this.clock, outside: this.outside }, executionId, key, options);
  }

  // ---- signals and cancel --------------------------------------------------------------------

  /** Delivers a signal to a running (or not yet started) execution; kept until the workflow waits for it. */
  async sendSignal(executionId: string, name: string, payload?: unknown): Promise<void> {
    if (typeof executionId !== 'string' || executionId === '') throw new ExecutionNotFoundError(String(executionId));
    checkName('signal', name);
    const encoded = encode(payload, `signal '${name}'`);
    const trace = await this.telemetry?.signal({ executionId, name });
    try {
      await this.store.sendSignal(executionId, name, encoded, this.clock.now());
      trace?.end();
    } catch (error) {
      trace?.end(error);
      throw error;
    }
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

  // ---- pause and resume ----------------------------------------------------------------------

  /** No worker claims anything on `queue` any more (work already running finishes); until resumeQueue. */
  pauseQueue(queue: string): Promise<PauseOutcome> {
    return this.pauses.set('queue', queue, true);
  }

  resumeQueue(queue: string): Promise<PauseOutcome> {
    return this.pauses.set('queue', queue, false);
  }

  /** No worker starts or resumes an execution of `workflow` (class or name) any more; until resumeWorkflow. */
  pauseWorkflow(workflow: WorkflowRef<unknown>): Promise<PauseOutcome> {
    return this.pauses.set('workflow', workflow, true);
  }

  resumeWorkflow(workflow: WorkflowRef<unknown>): Promise<PauseOutcome> {
    return this.pauses.set('workflow', workflow, false);
  }

  /** Paused queues and workflow types. */
  listPaused(): Promise<PausedInfo[]> {
    return this.pauses.list();
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
  listExecutions(filter: ExecutionListFilter = {}, page: ExecutionListPage = {}): Promise<ExecutionList> {
    return listExecutionPage(this.store, filter, page);
  }

  async getJournal(executionId: string): Promise<JournalEntry[]> {
    if (typeof executionId !== 'string' || executionId === '') throw new ExecutionNotFoundError(String(executionId));
    const record = await this.store.getExecution(executionId);
    if (!record) throw new ExecutionNotFoundError(executionId);
    const steps = await this.store.loadJournal(executionId);
    return steps.map(journalEntry);
  }

  /** Retries a failed execution: replays its latest dead-lettered task, or replays it from its journal. */
  retry(executionId: string): Promise<void> {
    return retryExecution(this.store, this.clock, executionId);
  }

  /** A new execution reusing this one's journal before `fromPosition`; returns its id (see history-ops.ts). */
  fork(executionId: string, options: ForkOptions): Promise<string> {
    return forkExecution(this.store, this.clock, executionId, options);
  }

  /** Runs a finished execution again from `fromPosition`, in place (see history-ops.ts). */
  rewind(executionId: string, fromPosition: number): Promise<void> {
    return rewindExecution(this.store, this.clock, executionId, fromPosition);
  }

  /** Alias of retry(), for executions that failed for a reason since fixed (e.g. a deploy). */
  resume(executionId: string): Promise<void> {
    return this.retry(executionId);
  }

  /** Tasks that failed for good, newest first; filter by executionId or name (also `dlq.list`). */
  listDeadLetters(query: DeadLetterQuery = {}): Promise<{ items: DeadLetterInfo[]; total: number; limit: number; offset: number }> {
    return this.dlq.list(query);
  }

  /** One dead letter with the workflow and state of its execution (also `dlq.get`). */
  getDeadLetter(deadLetterId: string): Promise<DeadLetterDetail> {
    return this.dlq.get(deadLetterId);
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
  stats(options: StatsOptions = {}): Promise<StentStats> {
    const thisWorker = this.worker ? { id: this.worker.ownerId, readiness: this.readiness(), ...this.worker.stats() } : null;
    return collectStats(this.store, this.clock.now(), options.throughputMinutes, thisWorker);
  }

  /** Due work that no live worker will take: its queue is served by none, or its name registered by none of them. */
  unservedWork(): Promise<UnservedWork[]> {
    return unservedWorkAt(this.store, this.clock.now());
  }
}
