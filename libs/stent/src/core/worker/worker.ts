import type { Clock } from '../clock/clock.js';
import { parseDuration, type Duration } from '../api/duration.js';
import { endedError } from './run-end-messages.js';
import { reportRunEnd } from './run-end-report.js';
import { SettleWaits } from './settle-waits.js';
import { newOwnerId } from './owner-id.js';
import type { StentEvents } from '../events.js';
import type { StentLogger } from '../logger.js';
import type { Registry } from '../definitions/registry.js';
import type { RunEnd, RunHost } from '../run/run-host.js';
import type { WorkflowRun } from '../run/workflow-run.js';
import type { LocalCompletion, NewStep, OtherVersionRecord, SlotHandOff, StepCompletion, StepRecord, HotPathStore, WakeEvent } from '../store/index.js';
import { ActivityRunner } from './activity-runner.js';
import { ClaimHealth } from './claim-health.js';
import { ClaimLoop } from './claim-loop.js';
import { CompletionBatcher } from './completion-batcher.js';
import { LeaseKeeper } from './lease-keeper.js';
import { LocalDispatch } from './local-dispatch.js';
import { HeldRuns } from './held-runs.js';
import { SuspendedRuns } from './suspended-runs.js';
import { VersionWatch } from './version-watch.js';
import { workerSettings, type WorkerOptions, type WorkerSettings, type WorkerState } from './worker-settings.js';

export type { WorkerOptions, WorkerState } from './worker-settings.js';

/**
 * Claims workflow executions and activity steps under a lease, runs them, renews the lease while they
 * run and reclaims the work of workers whose lease expired. The parts: the claim loop (ClaimLoop), the
 * activity slots (ActivityRunner), the batched writes of their outcomes (CompletionBatcher), the heartbeat
 * (LeaseKeeper) and the work it takes as it is inserted (LocalDispatch); the runs it holds are here.
 */
export class Worker implements RunHost {
  private owner = newOwnerId();
  readonly settings: WorkerSettings;
  readonly loop: ClaimLoop;
  readonly runner: ActivityRunner;
  readonly completions: CompletionBatcher;
  readonly leases: LeaseKeeper;
  readonly local: LocalDispatch;
  /** Whether claim rounds succeed (readiness). */
  readonly claimHealth = new ClaimHealth();
  /** Runs suspended recently, kept to be resumed without a replay (see SuspendedRuns). */
  readonly suspended: SuspendedRuns;
  /** Due executions of versions this worker cannot replay, left to others. */
  readonly versions: VersionWatch;
  readonly journalWarnAt: number;
  readonly journalLimit: number;
  /**
   * Queues paused across the database, as last read (every second, see FlowControlLoops): steps on them are
   * not claimed at insert either (the claim statements read the pauses themselves).
   */
  pausedQueues: ReadonlySet<string> = new Set();
  /** Workflow types known paused (read with the queues): a local dispatch of one is left to claims. */
  pausedWorkflows: ReadonlySet<string> = new Set();
  private stateValue: WorkerState = 'idle';
  /** The runs held in memory (see HeldRuns). */
  readonly runs: HeldRuns;
  private unsubscribe: (() => void) | undefined;
  /** Runs activity bodies inside something (the attempt's span, see StentTelemetry.runAttempt). */
  attemptWrapper: ((stepId: string, body: () => Promise<unknown>) => Promise<unknown>) | undefined;
  private readonly settleWaits: SettleWaits;

  constructor(
    readonly store: HotPathStore,
    readonly registry: Registry,
    readonly clock: Clock,
    readonly logger: StentLogger,
    readonly events: StentEvents,
    options: WorkerOptions = {},
  ) {
    this.settings = workerSettings(options);
    this.settleWaits = new SettleWaits(clock);
    this.loop = new ClaimLoop(this);
    this.runner = new ActivityRunner(this);
    this.completions = new CompletionBatcher(this);
    this.leases = new LeaseKeeper(this);
    this.local = new LocalDispatch(this);
    this.runs = new HeldRuns(this);
    this.suspended = new SuspendedRuns(this.settings.keepSuspended);
    this.versions = new VersionWatch(this);
    this.journalWarnAt = this.settings.journalWarnAt;
    this.journalLimit = this.settings.journalLimit;
  }

  /** Names this worker in leases; a worker started again after halt() is a new one. */
  get ownerId(): string {
    return this.owner;
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

  stats(): { state: WorkerState; runningActivities: number; activeWorkflows: number; concurrency: number; leftForOtherVersions: OtherVersionRecord[] } {
    const { stateValue: state, settings, versions } = this;
    return { state, runningActivities: this.runner.attempts.size, activeWorkflows: this.runs.size, concurrency: settings.concurrency, leftForOtherVersions: versions.leftForOthers };
  }

  async start(): Promise<void> {
    if (this.stateValue === 'running') return;
    this.stateValue = 'running';
    this.unsubscribe = this.store.subscribe((event) => this.onWake(event));
    try {
      await this.leases.start();
    } catch (error) {
      // Not started (the database refused the worker's row): nothing was claimed, nothing to hand back.
      this.leases.stop();
      this.unsubscribe();
      this.unsubscribe = undefined;
      this.stateValue = 'idle';
      throw error;
    }
    this.claimHealth.succeeded();
    this.loop.poke();
  }

  /** Stop claiming, let running work finish (up to the shutdown timeout), then hand everything back. */
  async drain(timeout?: Duration): Promise<void> {
    if (this.stateValue !== 'running') return;
    this.stateValue = 'draining';
    this.loop.stop();
    await this.loop.roundDone;
    const deadline = this.clock.now() + (timeout === undefined ? this.settings.shutdownTimeoutMs : parseDuration(timeout));
    // Attempts leave the map once their outcome is written. Steps a run is inserting already claimed by this
    // worker (reserved) start as soon as their insert commits: they are waited for too, or stopping would hand
    // back steps whose bodies just started here, and another worker would run them again.
    await this.until(() => this.runner.attempts.size === 0 && this.local.reserved === 0, deadline);
    this.runner.abortAll('worker shutting down');
    await this.until(() => this.local.reservedRuns === 0, deadline);
    await this.until(() => this.completions.idle);
    // Runs hand their work back: a waiting one is suspended (one still in a turn as soon as it waits, see
    // RunLifecycle.armIdleTimer), one that is finishing finishes. A run leaves the map only once its last
    // write is done, so no lease is released below while an ending (with the results it carries) is in flight.
    await Promise.all([...this.runs.values()].map((run) => run.suspend()));
    await this.until(() => this.runs.size === 0, deadline);
    for (const run of [...this.runs.values()]) run.abandon('worker shutting down');
    // Endings still being written, and the results abandoned runs hand to the batcher, are written before
    // the leases go; past the lease, releasing no longer matters (others may have taken over).
    await this.until(() => this.runs.size === 0 && this.completions.idle, Math.max(deadline, this.clock.now() + this.settings.leaseMs));
    await this.stop();
  }

  get draining(): boolean {
    return this.stateValue === 'draining';
  }

  /** Stop at once: leases still held are released so other workers take over without waiting. */
  async stop(): Promise<void> {
    if (this.stateValue === 'stopped' || this.stateValue === 'idle') {
      this.stateValue = 'stopped';
      return;
    }
    this.stateValue = 'stopped';
    this.loop.stop();
    this.leases.stop();
    this.unsubscribe?.();
    await this.loop.roundDone;
    this.runner.abortAll('worker stopped');
    for (const run of [...this.runs.values()]) run.abandon('worker stopped');
    this.suspended.clear();
    this.runner.attempts.clear();
    // Claimed steps that never started go back with the leases below.
    this.runner.waiting.clear();
    this.runner.carried.clear();
    this.changed();
    try {
      await this.store.releaseLeases(this.ownerId, this.clock.now());
      await this.leases.recordSelf('stopped');
    } catch (error) {
      this.logger.warn(`Worker ${this.ownerId}: could not release its leases on stop (${String(error)}); they expire on their own`, { workerId: this.ownerId });
    }
  }

  /**
   * Stops at once as if the process had died (for tests of crashes): every run and attempt held in
   * memory is dropped and nothing more is written (a write already on its way lands, as it would have
   * before a real crash), so leases run out on their own and other workers reap them.
   * Bodies still running finish unheard: their writes no longer hold a fence. start() afterwards runs a
   * new worker (a new owner id), as a restarted process would.
   */
  async halt(): Promise<void> {
    if (this.stateValue !== 'running' && this.stateValue !== 'draining') return;
    this.stateValue = 'stopped';
    this.loop.stop();
    this.leases.stop();
    this.unsubscribe?.();
    // What a run held leaves unwritten dies with it (abandon hands used results to the batcher; discarded
    // before its flush, a microtask away). Twice: a round under way may still start runs, though it claims
    // nothing more once it sees the worker stopped (what it claimed stays leased).
    // Attempts leave the map at once: an outcome that comes later finds its attempt gone and is dropped.
    const dropHeld = (): void => {
      this.runner.abortAll('worker halted');
      this.runner.attempts.clear();
      this.runner.lingering.clear();
      this.runner.waiting.clear();
      this.runner.carried.clear();
      for (const run of [...this.runs.values()]) run.abandon('worker halted');
      // A crashed process keeps nothing in memory, suspended runs included.
      this.suspended.clear();
      this.completions.discard();
    };
    dropHeld();
    await this.loop.roundDone;
    dropHeld();
    this.local.reserved = 0;
    this.local.reservedRuns = 0;
    this.loop.forget();
    this.owner = newOwnerId();
    this.stateValue = 'idle';
    this.changed();
  }

  /**
   * Nothing moves in this worker until something outside it happens: no claim round, write or
   * reservation under way, and every run held waits (on a timer, a signal or a step). Activity bodies
   * may still run (see runner.attempts).
   */
  get settled(): boolean {
    return this.unsettled() === undefined;
  }

  /** What keeps this worker from being settled (see settled), for messages. */
  unsettled(): string | undefined {
    if (this.loop.busy) return 'a claim round is under way';
    if (!this.completions.idle) return 'activity outcomes are being written';
    if (this.leases.busy) return 'a heartbeat is renewing leases';
    if (this.local.reserved > 0 || this.local.reservedRuns > 0) return 'work is being started';
    for (const run of this.runs.values()) if (!run.quiet) return `execution ${run.executionId} is running workflow code or writing its journal`;
    return undefined;
  }

  /** Ask for a claim round as soon as possible. */
  poke(): void {
    this.loop.poke();
  }

  private onWake(event: WakeEvent): void {
    if (event.type === 'work') {
      this.loop.workAnnounced(event.of);
    } else if (event.type === 'woken' && this.runs.get(event.executionId) !== undefined) {
      this.loop.hints.woken = true;
      this.loop.poke();
    } else if (event.type === 'finished') {
      this.executionEnded(event.executionId);
    } else if (event.type === 'joined') {
      this.loop.peerJoined();
    }
  }

  /** An execution ended elsewhere (cancelled, timed out): stop its run here and abort its activities. */
  executionEnded(executionId: string): void {
    this.suspended.drop(executionId);
    const run = this.runs.get(executionId);
    if (run && !run.ended) run.abandon('execution ended elsewhere');
    for (const attempt of this.runner.attempts.values()) {
      if (attempt.step.executionId === executionId && !attempt.abort.aborted) {
        void this.store.getExecution(executionId).then((record) => {
          if (record && record.state !== 'completed' && record.state !== 'running' && record.state !== 'pending') {
            attempt.abort.abort(endedError(record));
          }
        }, () => undefined);
      }
    }
  }

  /** Resolves once `condition` holds (checked whenever attempts, reservations or writes change), or at `deadline`. */
  private until(condition: () => boolean, deadline?: number): Promise<void> {
    return this.settleWaits.until(condition, deadline);
  }

  /** Attempts, reservations or pending writes changed: waits in until() look again. */
  changed(): void {
    this.settleWaits.changed();
  }

  /** See HeldRuns.born (a RunHost call). */
  runBorn(run: WorkflowRun): void {
    this.runs.born(run);
  }

  // ---- RunHost ---------------------------------------------------------------------------------

  reserveLocal(batch: NewStep[], completions: readonly LocalCompletion[]): NewStep[] {
    return this.local.reserveLocal(batch, completions);
  }

  couldRunHere(step: NewStep): boolean {
    return this.local.couldRunHere(step);
  }

  cancelReservations(steps: NewStep[]): void {
    this.local.cancelReservations(steps);
  }

  reserveHandOff(completions: readonly LocalCompletion[]): SlotHandOff | undefined {
    return this.local.reserveHandOff(completions);
  }

  handedOff(handOff: SlotHandOff, started: StepRecord[]): void {
    this.local.handedOff(handOff, started);
  }

  completionsWritten(completions: readonly LocalCompletion[]): void {
    if (completions.length > 0) this.loop.handOn.written(completions.map((completion) => completion.fence.stepId));
  }

  startReserved(run: WorkflowRun, steps: NewStep[]): void {
    this.local.startReserved(run, steps);
  }

  announceWork(): void {
    this.loop.poke();
  }

  recordCompletions(completions: StepCompletion[]): void {
    this.completions.record(completions);
  }

  resultsDropped(executionId: string, stepIds: string[], why: string): void {
    for (const stepId of stepIds) {
      this.logger.warn(`Execution ${executionId}: the result of step ${stepId}, run by this worker, is dropped (${why}); the step runs again unless another worker recorded it`);
    }
  }

  runEnded(run: WorkflowRun, end: RunEnd): void {
    this.runs.remove(run);
    this.changed();
    reportRunEnd(this, run, end);
    this.loop.poke();
  }
}
