import { hostname } from 'node:os';
import { createHash, randomUUID } from 'node:crypto';
import { scopeStorage, type ActivityScope } from './context.js';
import { parseDuration, type Duration } from './duration.js';
import { checkRouting } from './definitions.js';
import { checkName } from './names.js';
import { ActivityTimeoutError, ConfigurationError, ExecutionFinishedError, SerializationError, WorkflowCancelledError, WorkflowTimedOutError } from './errors/index.js';
import { repeatOn, type Clock, type Timer } from './clock/clock.js';
import type { StentEvents } from './events.js';
import type { StentLogger } from './logger.js';
import type { Registry } from './registry.js';
import { isRetryable, retryDelayMs, DEFAULT_RETRY_POLICY } from './retry-policy.js';
import type { RunEnd, RunHost } from './run-host.js';
import { decode, encode, encodeError } from './serialization.js';
import type { ClaimFilter, ExecutionRecord, NewExecution, NewStep, StepCompletion, StepRecord, StentStore, WakeEvent } from './store.js';
import { WorkflowRun } from './workflow-run.js';
import { finalOutcome } from './outcome.js';

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
  /** Shortest and longest pause between polls when no wake-up arrives. Defaults '100ms' and '1s'. */
  pollInterval?: Duration;
  maxPollInterval?: Duration;
  /** A workflow waiting this long is suspended out of memory. Default '1s'. */
  suspendAfter?: Duration;
  /** Workflows held in memory at once. Default 1000. */
  maxActiveWorkflows?: number;
  /** A task reclaimed from crashed workers more often than this is dead-lettered. Default 5. */
  maxRecoveries?: number;
  /** How long drain() waits for running activities. Default '30s'. */
  shutdownTimeout?: Duration;
}

export type WorkerState = 'idle' | 'running' | 'draining' | 'stopped';

interface RunningAttempt {
  step: StepRecord;
  abort: AbortController;
  startedAt: number;
  done: Promise<void>;
  /** Settles when the activity body itself returns or throws (after a timeout it may still be running). */
  bodySettled: Promise<void>;
  bodyDone: boolean;
}

interface Settings {
  concurrency: number;
  queues: string[];
  tags: string[];
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  maxPollMs: number;
  suspendAfterMs: number;
  maxActiveWorkflows: number;
  maxRecoveries: number;
  shutdownTimeoutMs: number;
}

function settingsFrom(options: WorkerOptions): Settings {
  const leaseMs = parseDuration(options.lease ?? '30s');
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigurationError(`worker.concurrency must be a whole number >= 1, got ${concurrency}`);
  const queues = options.queues ?? ['default'];
  if (!Array.isArray(queues) || queues.length === 0) throw new ConfigurationError('worker.queues must list at least one queue');
  for (const queue of queues) checkName('queue', queue);
  checkRouting('worker', { tags: options.tags });
  return {
    concurrency,
    queues,
    tags: options.tags ?? [],
    leaseMs,
    heartbeatMs: options.heartbeat === undefined ? Math.max(50, Math.floor(leaseMs / 3)) : parseDuration(options.heartbeat),
    pollMs: parseDuration(options.pollInterval ?? '100ms'),
    maxPollMs: parseDuration(options.maxPollInterval ?? '1s'),
    suspendAfterMs: parseDuration(options.suspendAfter ?? '1s'),
    maxActiveWorkflows: options.maxActiveWorkflows ?? 1000,
    maxRecoveries: options.maxRecoveries ?? 5,
    shutdownTimeoutMs: parseDuration(options.shutdownTimeout ?? '30s'),
  };
}

/**
 * Claims workflow executions and activity steps under a lease, runs them, renews the lease while they
 * run and reclaims the work of workers whose lease expired.
 */
export class Worker implements RunHost {
  readonly ownerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly settings: Settings;
  private stateValue: WorkerState = 'idle';
  private readonly runs = new Map<string, WorkflowRun>();
  private readonly attempts = new Map<string, RunningAttempt>();
  /**
   * Bodies of timed-out attempts that ignored their AbortSignal and still run: their outcome is recorded,
   * but they keep their slot (and count against their activity's maxConcurrent here) until they return.
   */
  private readonly lingering = new Set<RunningAttempt>();
  /** Slots promised to steps being inserted right now. */
  private reserved = 0;
  /** Runs promised to executions being dispatched by this process right now. */
  private reservedRuns = 0;
  private completions: StepCompletion[] = [];
  private completionWaiters = new Map<string, { run: WorkflowRun | undefined; attempt: RunningAttempt }>();
  private flushingCompletions = false;
  private ticking = false;
  private tickAgain = false;
  private immediate: NodeJS.Immediate | undefined;
  private pollTimer: Timer | undefined;
  private heartbeatTimer: Timer | undefined;
  private idlePolls = 0;
  /** Id of the recovered step this worker runs alone, if any. */
  private suspectRunning: string | undefined;
  private suspectsWaiting = false;
  private suspectsCheckedAt = 0;
  /** Other live workers on the database, re-read when a claim depends on it (see workflowBudget). */
  private peers = 0;
  private peersCheckedAt = -Infinity;
  /**
   * Whether a claim query may find something. Set by wake events, by polls and by claims that came back
   * full; cleared by claims that came back short. Saves a query per tick when there is nothing to take.
   */
  private readonly hints = { workflows: true, activities: true, woken: true, suspects: true };
  private lastReapAt = 0;
  private startedAt = 0;
  private unsubscribe: (() => void) | undefined;
  private tickDone: Promise<void> = Promise.resolve();
  /** Checks of waits in until(), run whenever what they wait on may have changed. */
  private readonly settleChecks = new Set<() => void>();

  constructor(
    readonly store: StentStore,
    private readonly registry: Registry,
    readonly clock: Clock,
    readonly logger: StentLogger,
    private readonly events: StentEvents,
    options: WorkerOptions = {},
  ) {
    this.settings = settingsFrom(options);
  }

  get suspendAfterMs(): number {
    return this.settings.suspendAfterMs;
  }

  get timerHorizonMs(): number {
    return Math.max(this.settings.suspendAfterMs * 2, 60_000);
  }

  get state(): WorkerState {
    return this.stateValue;
  }

  stats(): { state: WorkerState; runningActivities: number; activeWorkflows: number; concurrency: number } {
    return { state: this.stateValue, runningActivities: this.attempts.size, activeWorkflows: this.runs.size, concurrency: this.settings.concurrency };
  }

  async start(): Promise<void> {
    if (this.stateValue === 'running') return;
    this.stateValue = 'running';
    this.startedAt = this.clock.now();
    this.unsubscribe = this.store.subscribe((event) => this.onWake(event));
    await this.recordSelf(this.stateValue, true);
    this.heartbeatTimer = repeatOn(this.clock, this.settings.heartbeatMs, () => void this.heartbeat());
    this.poke();
  }

  /** Stop claiming, let running work finish (up to the shutdown timeout), then hand everything back. */
  async drain(timeout?: Duration): Promise<void> {
    if (this.stateValue !== 'running') return;
    this.stateValue = 'draining';
    this.clearLoopTimers();
    await this.tickDone;
    const deadline = this.clock.now() + (timeout === undefined ? this.settings.shutdownTimeoutMs : parseDuration(timeout));
    // Attempts leave the map once their outcome is written.
    await this.until(() => this.attempts.size === 0, deadline);
    for (const attempt of this.attempts.values()) attempt.abort.abort(new Error('worker shutting down'));
    await this.until(() => this.reservedRuns === 0, deadline);
    await this.until(() => !this.flushingCompletions && this.completions.length === 0);
    await Promise.all([...this.runs.values()].map((run) => run.suspend()));
    for (const run of [...this.runs.values()]) run.abandon('worker shutting down');
    await this.stop();
  }

  /** Stop at once: leases still held are released so other workers take over without waiting. */
  async stop(): Promise<void> {
    if (this.stateValue === 'stopped' || this.stateValue === 'idle') {
      this.stateValue = 'stopped';
      return;
    }
    this.stateValue = 'stopped';
    this.clearLoopTimers();
    this.heartbeatTimer?.cancel();
    this.unsubscribe?.();
    await this.tickDone;
    for (const attempt of this.attempts.values()) attempt.abort.abort(new Error('worker stopped'));
    for (const run of [...this.runs.values()]) run.abandon('worker stopped');
    this.attempts.clear();
    this.changed();
    try {
      await this.store.releaseLeases(this.ownerId, this.clock.now());
      await this.recordSelf('stopped');
    } catch (error) {
      this.logger.warn(`Worker ${this.ownerId}: could not release its leases on stop (${String(error)}); they expire on their own`);
    }
  }

  /** Ask for a claim round as soon as possible. */
  poke(): void {
    if (this.stateValue !== 'running') return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    if (this.immediate) return;
    if (this.pollTimer) {
      this.pollTimer.cancel();
      this.pollTimer = undefined;
    }
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.tickDone = this.tick();
    });
  }

  private onWake(event: WakeEvent): void {
    if (event.type === 'work') {
      this.idlePolls = 0;
      this.hints.workflows = this.hints.activities = true;
      this.poke();
    } else if (event.type === 'woken' && this.runs.has(event.executionId)) {
      this.hints.woken = true;
      this.poke();
    } else if (event.type === 'finished') {
      this.executionEnded(event.executionId);
    } else if (event.type === 'joined') {
      this.peersCheckedAt = -Infinity;
    }
  }

  /** An execution ended elsewhere (cancelled, timed out): stop its run here and abort its activities. */
  private executionEnded(executionId: string): void {
    const run = this.runs.get(executionId);
    if (run && !run.ended) run.abandon('execution ended elsewhere');
    for (const attempt of this.attempts.values()) {
      if (attempt.step.executionId === executionId && !attempt.abort.signal.aborted) {
        void this.store.getExecution(executionId).then((record) => {
          if (record && record.state !== 'completed' && record.state !== 'running' && record.state !== 'pending') {
            attempt.abort.abort(endedError(record));
          }
        }, () => undefined);
      }
    }
  }

  private clearLoopTimers(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.pollTimer?.cancel();
    this.immediate = undefined;
    this.pollTimer = undefined;
  }

  private schedulePoll(): void {
    if (this.stateValue !== 'running' || this.immediate || this.pollTimer) return;
    const wait = Math.min(this.settings.maxPollMs, this.settings.pollMs * 2 ** Math.min(this.idlePolls, 10));
    this.idlePolls++;
    this.pollTimer = this.clock.setTimer(wait, () => {
      this.pollTimer = undefined;
      // Polling is the safety net for lost or impossible notifications: look at everything.
      this.hints.workflows = this.hints.activities = this.hints.woken = this.hints.suspects = true;
      this.tickDone = this.tick();
    });
  }

  private async tick(): Promise<void> {
    if (this.stateValue !== 'running' || this.ticking) return;
    this.ticking = true;
    let progressed = false;
    try {
      const now = this.clock.now();
      if (now - this.lastReapAt >= Math.min(this.settings.leaseMs / 2, 5_000)) {
        this.lastReapAt = now;
        const reaped = await this.store.reapExpiredLeases(now, this.settings.maxRecoveries);
        if (reaped.steps + reaped.executions > 0) {
          this.logger.warn(`Reclaimed ${reaped.steps} step(s) and ${reaped.executions} execution(s) whose worker stopped renewing its lease${reaped.deadLettered ? `; ${reaped.deadLettered} dead-lettered after too many recoveries` : ''}`);
          progressed = true;
        }
      }
      progressed = (await this.claimWorkflows()) || progressed;
      progressed = (await this.claimActivities()) || progressed;
      if (this.runs.size > 0 && this.hints.woken) await this.refreshWoken();
    } catch (error) {
      this.logger.error(`Worker ${this.ownerId}: claim round failed (will retry)`, error);
    } finally {
      this.ticking = false;
    }
    if (progressed || this.tickAgain) {
      this.tickAgain = false;
      this.idlePolls = 0;
      this.poke();
    } else {
      this.schedulePoll();
    }
  }

  /**
   * How many workflows to claim now, when other workers share the database: room for their first
   * activities in free slots, plus a slot-set of queue. Claiming more would only queue their steps here,
   * where the other workers take them (each result then a cross-process hand-off) while they could have
   * run those workflows themselves. Alone, a worker takes what it can hold: its queue orders the backlog
   * by priority. Steps that another worker or a cluster cap must serve do not count against the queue.
   */
  private async workflowBudget(): Promise<number> {
    let queued = 0;
    for (const run of this.runs.values()) queued += run.queuedHere;
    const budget = Math.max(0, this.freeSlots()) + Math.max(0, this.settings.concurrency - queued);
    if (budget >= MAX_CLAIM) return budget;
    const now = this.clock.now();
    if (now - this.peersCheckedAt >= PEER_CHECK_MS) {
      this.peersCheckedAt = now;
      this.peers = await this.store.countPeers(this.ownerId, now - this.settings.leaseMs);
    }
    return this.peers > 0 ? budget : MAX_CLAIM;
  }

  private freeSlots(): number {
    return this.settings.concurrency - this.attempts.size - this.lingering.size - this.reserved;
  }

  /** Cluster-wide caps, less the bodies of this process that still run past their timeout. */
  private activityLimits(): Map<string, number> {
    const limits = this.registry.activityLimits();
    for (const { step } of this.lingering) {
      const cap = limits.get(step.name);
      if (cap !== undefined) limits.set(step.name, cap - 1);
    }
    return limits;
  }

  private claimFilter(limit: number): ClaimFilter {
    return {
      owner: this.ownerId,
      names: this.registry.activityNames(),
      queues: this.settings.queues,
      tags: this.settings.tags,
      limit,
      now: this.clock.now(),
      leaseMs: this.settings.leaseMs,
      limits: this.activityLimits(),
    };
  }

  /**
   * Steps that were running when their worker died run alone: an idle worker takes one and nothing
   * else until it ends, so a task that crashes its worker is the only one blamed for the crash.
   */
  private async claimActivities(): Promise<boolean> {
    const names = this.registry.activityNames();
    if (names.length === 0 || this.suspectRunning) return false;
    const idle = this.attempts.size === 0 && this.reserved === 0 && this.lingering.size === 0;
    if (idle && (this.hints.suspects || this.suspectsWaiting)) {
      this.hints.suspects = false;
      const [suspect] = await this.store.claimSteps({ ...this.claimFilter(1), suspect: true });
      if (suspect) {
        this.suspectRunning = suspect.id;
        this.hints.suspects = true;
        this.runAttempt(suspect, this.runs.get(suspect.executionId));
        return true;
      }
      this.suspectsWaiting = false;
    } else if (!idle && this.clock.now() - this.suspectsCheckedAt >= 250) {
      this.suspectsCheckedAt = this.clock.now();
      this.suspectsWaiting = await this.store.hasSuspects(this.claimFilter(1));
    }
    // While a suspect waits, let running attempts finish so this worker becomes idle to take it.
    if (this.suspectsWaiting) return false;
    const free = this.freeSlots();
    if (free <= 0 || !this.hints.activities) return false;
    const steps = await this.store.claimSteps(this.claimFilter(free));
    this.hints.activities = steps.length >= free;
    for (const step of steps) this.runAttempt(step, this.runs.get(step.executionId));
    return steps.length > 0;
  }

  private async claimWorkflows(): Promise<boolean> {
    const names = this.registry.workflowNames();
    if (names.length === 0 || !this.hints.workflows) return false;
    const limit = Math.min(this.settings.maxActiveWorkflows - this.runs.size - this.reservedRuns, await this.workflowBudget());
    if (limit <= 0) return false;
    const filter: ClaimFilter = { ...this.claimFilter(limit), names, limits: new Map() };
    const now = filter.now;
    const executions = await this.store.claimExecutions(filter);
    this.hints.workflows = executions.length >= limit;
    // Claimed but not started while their journals load: they count against maxActiveWorkflows.
    this.reservedRuns += executions.length;
    let journals: StepRecord[][];
    try {
      // A first start has no journal to load (started_at was set by this very claim).
      journals = await Promise.all(
        executions.map((execution) => (execution.startedAt === now && execution.recoveries === 0 ? [] : this.store.loadJournal(execution.id))),
      );
    } finally {
      this.reservedRuns -= executions.length;
      this.changed();
    }
    executions.forEach((execution, i) => this.startRun(execution, journals[i]!));
    return executions.length > 0;
  }

  private startRun(execution: ExecutionRecord, journal: StepRecord[]): void {
    const workflow = this.registry.workflow(execution.workflowName);
    if (!workflow) return;
    const previous = this.runs.get(execution.id);
    if (previous) previous.abandon('claimed again');
    const run = new WorkflowRun(this, execution, journal, workflow);
    this.runs.set(execution.id, run);
    this.events.emit('execution.started', { executionId: execution.id, workflowName: execution.workflowName, replay: journal.length > 0 });
    run.start();
  }

  private async refreshWoken(): Promise<void> {
    this.hints.woken = false;
    const woken = await this.store.takeWokenExecutions(this.ownerId, this.clock.now());
    for (const { id, epoch } of woken) {
      const run = this.runs.get(id);
      if (run && run.fence.epoch === epoch) await run.refresh();
    }
  }

  /**
   * Whether this worker takes a new execution as it is inserted: it runs the workflow, serves its queue
   * and tags, has room, and knows of no older executions waiting. Marks the execution claimed if so.
   */
  reserveExecution(execution: NewExecution): boolean {
    if (this.stateValue !== 'running' || this.hints.workflows || this.suspectRunning) return false;
    if (this.runs.size + this.reservedRuns >= this.settings.maxActiveWorkflows) return false;
    if (!this.registry.workflow(execution.workflowName) || !this.settings.queues.includes(execution.queue)) return false;
    if (this.settings.tags.length > 0 && !execution.tags.some((tag) => this.settings.tags.includes(tag))) return false;
    execution.claimedBy = { owner: this.ownerId, leaseExpiresAt: this.clock.now() + this.settings.leaseMs };
    this.reservedRuns++;
    return true;
  }

  /** Starts an execution reserved by reserveExecution once its insert is known (created) or not. */
  startReservedExecution(execution: NewExecution, claimed: boolean): void {
    this.reservedRuns--;
    this.changed();
    if (!claimed || !execution.claimedBy) {
      this.poke();
      return;
    }
    if (this.stateValue !== 'running') {
      // Drained while the insert was on its way: hand it to whoever claims next instead of holding it.
      void this.store.releaseExecution({ executionId: execution.id, owner: execution.claimedBy.owner, epoch: 1 }, this.clock.now()).catch(() => undefined);
      return;
    }
    const { claimedBy, ...fields } = execution;
    this.startRun(
      {
        ...fields,
        state: 'running',
        result: null,
        error: null,
        updatedAt: execution.createdAt,
        startedAt: execution.createdAt,
        finishedAt: null,
        wakeAt: null,
        leaseOwner: claimedBy.owner,
        leaseEpoch: 1,
        leaseExpiresAt: claimedBy.leaseExpiresAt,
        recoveries: 0,
        progress: null,
        counters: null,
        customState: null,
        revivePosition: null,
      },
      [],
    );
  }

  /** Resolves once `condition` holds (checked whenever attempts, reservations or writes change), or at `deadline`. */
  private until(condition: () => boolean, deadline?: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        timer?.cancel();
        this.settleChecks.delete(check);
        resolve();
      };
      const check = (): void => {
        if (condition()) done();
      };
      const timer = deadline === undefined ? undefined : this.clock.setTimer(deadline - this.clock.now(), done);
      this.settleChecks.add(check);
    });
  }

  private changed(): void {
    for (const check of [...this.settleChecks]) check();
  }

  // ---- RunHost ---------------------------------------------------------------------------------

  reserveLocal(batch: NewStep[]): NewStep[] {
    if (this.stateValue !== 'running' || this.suspectRunning || this.suspectsWaiting) return [];
    const local: NewStep[] = [];
    const leaseExpiresAt = this.clock.now() + this.settings.leaseMs;
    for (const step of batch) {
      if (!this.couldRunHere(step)) continue;
      if (this.freeSlots() <= 0) break;
      step.state = 'running';
      step.claimedBy = { owner: this.ownerId, leaseExpiresAt };
      this.reserved++;
      local.push(step);
    }
    return local;
  }

  couldRunHere(step: NewStep): boolean {
    if (step.kind !== 'activity' || step.maxConcurrent !== null) return false;
    if (!this.registry.activity(step.name) || !this.settings.queues.includes(step.queue)) return false;
    return this.settings.tags.length === 0 || step.tags.some((tag) => this.settings.tags.includes(tag));
  }

  cancelReservations(steps: NewStep[]): void {
    this.reserved -= steps.length;
  }

  startReserved(run: WorkflowRun, steps: NewStep[]): void {
    this.reserved -= steps.length;
    const now = this.clock.now();
    for (const step of steps) {
      this.runAttempt(
        {
          ...step,
          result: null,
          error: null,
          attempts: 1,
          leaseOwner: this.ownerId,
          leaseEpoch: 1,
          leaseExpiresAt: step.claimedBy!.leaseExpiresAt,
          recoveries: 0,
          startedAt: now,
          finishedAt: null,
          childExecutionId: null,
          deliveredTurn: null,
          deliveredSeq: null,
          tentative: false,
        },
        run,
      );
    }
  }

  announceWork(): void {
    this.poke();
  }

  recordCompletions(completions: StepCompletion[]): void {
    if (completions.length === 0) return;
    this.completions.push(...completions);
    if (!this.flushingCompletions) {
      this.flushingCompletions = true;
      queueMicrotask(() => void this.flushCompletions());
    }
  }

  runEnded(run: WorkflowRun, end: RunEnd): void {
    if (this.runs.get(run.executionId) === run) this.runs.delete(run.executionId);
    if (end.kind === 'finished') {
      // Decoded only for listeners (waitFor is one): most runs end with nobody listening in this process.
      const result = this.events.listenerCount('execution.finished') > 0 ? finalOutcome(run.executionId, end.state, end.result, end.error) : undefined;
      this.events.emit('execution.finished', { executionId: run.executionId, workflowName: run.execution.workflowName, state: end.state, result });
    } else if (end.kind === 'suspended') {
      this.events.emit('execution.suspended', { executionId: run.executionId, wakeAt: end.wakeAt });
    } else if (end.reason !== 'worker shutting down' && end.reason !== 'worker stopped' && end.reason !== 'claimed again' && end.reason !== 'execution ended elsewhere') {
      this.logger.warn(`Execution ${run.executionId}: run dropped from this worker (${end.reason})`);
      // Dropped while (perhaps) still owned, say after a failed write: let it be claimed and replayed now
      // rather than when the lease runs out. The release is fenced: a lease already lost is left alone.
      if (!end.reason.startsWith('lease lost')) void this.store.releaseExecution(run.fence, this.clock.now()).catch(() => undefined);
    }
    this.poke();
  }

  /** Whether this worker runs the execution right now (in memory, not ended). */
  holds(executionId: string): boolean {
    const run = this.runs.get(executionId);
    return run !== undefined && !run.ended;
  }

  /** What this worker holds leases for right now (the heartbeat renews these and nothing else). */
  private heldLeases(): { executions: string[]; steps: string[] } {
    return { executions: [...this.runs.keys()], steps: [...this.attempts.keys()] };
  }

  // ---- activity attempts ---------------------------------------------------------------------

  private runAttempt(step: StepRecord, run: WorkflowRun | undefined): void {
    const registered = this.registry.activity(step.name);
    const abort = new AbortController();
    const startedAt = this.clock.now();
    run?.attemptStarted(step.position);
    const attempt: RunningAttempt = { step, abort, startedAt, done: Promise.resolve(), bodySettled: Promise.resolve(), bodyDone: false };
    this.attempts.set(step.id, attempt);
    this.events.emit('step.started', { executionId: step.executionId, position: step.position, name: step.name, attempt: step.attempts });
    const scope: ActivityScope = {
      kind: 'activity',
      executionId: step.executionId,
      activityName: step.name,
      attempt: step.attempts,
      position: step.position,
      signal: abort.signal,
      heartbeat: () => void this.store.renewLeases(this.ownerId, this.clock.now(), this.settings.leaseMs, this.heldLeases()).catch(() => {}),
    };
    let cacheKey: string | undefined;
    const body = async (): Promise<unknown> => {
      if (!registered) throw new ConfigurationError(`Activity '${step.name}' is not registered in this worker`);
      const args = decode(step.args) as unknown[];
      const cache = registered.definition.cache;
      if (cache) {
        cacheKey = cache.key
          ? `${step.name}:${String(cache.key(...args))}`
          : `${step.name}:${cache.version}:${createHash('sha256').update(step.args ?? '').digest('hex')}`;
        const stored = await this.store.lookupCache(cacheKey, this.clock.now());
        if (stored !== null) return { [CACHED]: stored };
      }
      return registered.body.apply(registered.instance, args);
    };
    let timer: Timer | undefined;
    const outcome = new Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }>((resolve) => {
      if (step.timeoutMs !== null) {
        timer = this.clock.setTimer(step.timeoutMs, () => {
          const error = new ActivityTimeoutError(step.name, step.timeoutMs!);
          abort.abort(error);
          resolve({ ok: false, error });
        });
      }
      // bodyDone is set before the outcome is handed on, so whoever handles the outcome knows the body returned.
      attempt.bodySettled = scopeStorage.run(scope, body).then(
        (value) => {
          attempt.bodyDone = true;
          resolve({ ok: true, value });
        },
        (error: unknown) => {
          attempt.bodyDone = true;
          resolve({ ok: false, error });
        },
      );
    });
    attempt.done = outcome.then((result) => {
      timer?.cancel();
      if (this.attempts.get(step.id) !== attempt) return;
      const cache = registered?.definition.cache;
      this.settleAttempt(attempt, result, run, cacheKey && cache ? { key: cacheKey, expiresAt: cache.ttlMs === null ? null : this.clock.now() + cache.ttlMs } : undefined);
    });
  }

  private settleAttempt(
    attempt: RunningAttempt,
    result: { ok: true; value: unknown } | { ok: false; error: unknown },
    run: WorkflowRun | undefined,
    cache: { key: string; expiresAt: number | null } | undefined,
  ): void {
    const { step } = attempt;
    const now = this.clock.now();
    let completion: StepCompletion['outcome'];
    let failure: unknown;
    if (result.ok) {
      const value = result.value as Record<symbol, string> | undefined;
      if (value && typeof value === 'object' && CACHED in value) {
        completion = { kind: 'completed', result: value[CACHED]! };
      } else {
        try {
          completion = { kind: 'completed', result: encode(result.value, `${step.name}(result)`), cache };
        } catch (error) {
          failure = error;
        }
      }
    } else {
      failure = result.error;
    }
    if (failure !== undefined || !result.ok) {
      const policy = step.retryPolicy ?? DEFAULT_RETRY_POLICY;
      const retryable = !(failure instanceof SerializationError) && isRetryable(policy, failure);
      const willRetry = retryable && step.attempts < policy.maxAttempts;
      this.events.emit('step.failed', {
        executionId: step.executionId,
        position: step.position,
        name: step.name,
        attempt: step.attempts,
        error: failure instanceof Error ? failure : new Error(String(failure)),
        willRetry,
      });
      completion = willRetry
        ? { kind: 'retry', error: encodeError(failure), availableAt: now + retryDelayMs(policy, step.attempts + 1) }
        : { kind: 'failed', error: encodeError(failure), deadLetterReason: retryable ? 'attempts exhausted' : 'non-retryable error' };
    } else {
      this.events.emit('step.completed', { executionId: step.executionId, position: step.position, name: step.name, attempt: step.attempts, durationMs: now - attempt.startedAt });
    }
    const holder = run && !run.ended ? run : this.runs.get(step.executionId);
    const fence = { stepId: step.id, owner: this.ownerId, epoch: step.leaseEpoch };
    if (completion!.kind === 'completed' && !completion!.cache && holder && !holder.ended) {
      // The workflow runs here: it gets the result now, and records it with its next journal write.
      this.attemptFinished(attempt, step.executionId);
      holder.completeLocally(step, { fence, result: completion!.result, finishedAt: now });
      this.poke();
      return;
    }
    this.completions.push({
      fence,
      executionId: step.executionId,
      outcome: completion!,
      finishedAt: now,
      wakeExecution: !holder || holder.ended,
    });
    this.completionWaiters.set(step.id, { run: holder, attempt });
    if (!this.flushingCompletions) {
      this.flushingCompletions = true;
      queueMicrotask(() => void this.flushCompletions());
    }
  }

  /** Writes finished attempts in batches: everything that finished while the last batch was committing. */
  private async flushCompletions(): Promise<void> {
    try {
      while (this.completions.length > 0) {
        const batch = this.completions;
        this.completions = [];
        let results: boolean[];
        try {
          results = await this.store.completeSteps(batch);
        } catch (error) {
          this.logger.error(`Worker ${this.ownerId}: recording ${batch.length} finished attempt(s) failed; their leases will expire and they will run again`, error);
          results = batch.map(() => false);
        }
        batch.forEach((completion, i) => this.afterCompletion(completion, results[i]!));
      }
    } finally {
      this.flushingCompletions = false;
      this.changed();
    }
    this.poke();
  }

  /**
   * An attempt's outcome is known: its slot is free, unless its body ignored the timeout's AbortSignal
   * and still runs (then the slot stays taken until the body returns).
   */
  private attemptFinished(attempt: RunningAttempt, executionId: string): void {
    const { step } = attempt;
    if (this.attempts.get(step.id) === attempt) {
      this.attempts.delete(step.id);
      this.changed();
      if (!attempt.bodyDone) {
        this.lingering.add(attempt);
        this.logger.warn(`Activity ${step.name} (execution ${executionId}) ignored its AbortSignal after its timeout; its slot stays taken until it returns`);
        void attempt.bodySettled.then(() => {
          this.lingering.delete(attempt);
          this.hints.activities = true;
          this.poke();
        });
      }
    }
    if (this.suspectRunning === step.id) this.suspectRunning = undefined;
    // A capped activity finishing frees a cluster-wide slot another pending step may take.
    if (step.maxConcurrent !== null) this.hints.activities = true;
  }

  private afterCompletion(completion: StepCompletion, stillOwned: boolean): void {
    const waiter = this.completionWaiters.get(completion.fence.stepId);
    this.completionWaiters.delete(completion.fence.stepId);
    if (!waiter) return;
    const { attempt, run } = waiter;
    this.attemptFinished(attempt, completion.executionId);
    if (!stillOwned) {
      this.logger.warn(`Step ${attempt.step.name} #${attempt.step.position} of execution ${completion.executionId}: this worker no longer owns it (lease expired and it was reclaimed); its outcome is dropped`);
      return;
    }
    const outcome = completion.outcome;
    if (outcome.kind === 'retry') {
      const wait = outcome.availableAt - this.clock.now();
      const again = () => {
        this.hints.activities = true;
        this.poke();
      };
      if (wait > 0) this.clock.setTimer(wait + 5, again).unref();
      else again();
      return;
    }
    const current = run && !run.ended ? run : this.runs.get(completion.executionId);
    if (!current || current.ended) return;
    current.deliver({
      ...attempt.step,
      state: outcome.kind === 'completed' ? 'completed' : 'failed',
      result: outcome.kind === 'completed' ? outcome.result : null,
      error: outcome.kind === 'failed' ? outcome.error : null,
      finishedAt: completion.finishedAt,
      leaseOwner: null,
    });
  }

  private async heartbeat(): Promise<void> {
    if (this.stateValue === 'stopped') return;
    try {
      const ended = await this.store.renewLeases(this.ownerId, this.clock.now(), this.settings.leaseMs, this.heldLeases());
      for (const stepId of ended) {
        const attempt = this.attempts.get(stepId);
        if (attempt && !attempt.abort.signal.aborted) this.executionEnded(attempt.step.executionId);
      }
      await this.recordSelf();
    } catch (error) {
      this.logger.error(`Worker ${this.ownerId}: heartbeat failed`, error);
    }
  }

  private recordSelf(state: string = this.stateValue, joined = false): Promise<void> {
    return this.store.recordWorker(this.ownerId, {
      hostname: hostname(),
      pid: process.pid,
      queues: this.settings.queues,
      startedAt: this.startedAt,
      now: this.clock.now(),
      state,
      joined,
    });
  }
}

/** Why an activity's AbortSignal fires when its execution ended under it. */
function endedError(record: ExecutionRecord): Error {
  if (record.state === 'timed_out') return new WorkflowTimedOutError(record.id, record.maxDurationMs ?? 0);
  if (record.state === 'cancelled') return new WorkflowCancelledError(record.id);
  return new ExecutionFinishedError(record.id, record.state);
}

/** Marks a result that came from the idempotency/cache table rather than from running the body. */
const CACHED = Symbol('stent.cached');
/** Most workflows one claim round takes. */
const MAX_CLAIM = 100;
/** How often a worker re-reads how many other workers share its database (at once when one joins). */
const PEER_CHECK_MS = 1_000;
