import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  ConfigurationError,
  DrainTimeoutError,
  ExecutionStuckError,
  isFinalState,
  ManualClock,
  parseDuration,
  StentExecutor,
  type Duration,
  type ExecutionRecord,
  type ExecutionId,
  type Outcome,
  type RunResult,
  type StentEventMap,
  type Worker,
} from '../core/index.js';
import { expectJournalOf, stepsOf, type ExpectedStep, type JournalFilter, type StepSummary } from './journal-summary.js';
import { STENT_TESTING_OPTIONS } from './testing.constants.js';
import type { StentTestingOptions } from './testing-options.js';

export interface DrainOptions {
  /** Real time to wait for the engine to settle (default the module's drainTimeout, '30s'). */
  timeout?: Duration;
  /**
   * Whether to wait for activity bodies that are running (default true). False returns once only bodies
   * are left: for a body the test itself holds (a gate), or one that only ends when its time-out fires.
   */
  waitForActivities?: boolean;
}

/** Real time between two looks at the engine while it settles. */
const LOOK_EVERY_MS = 2;

/**
 * Drives the engine of a StentTestingModule through manual time. Every method returns once the engine
 * has settled: nothing is due, no write or claim is under way and every execution waits (for a timer, a
 * signal, a step) or has ended, so what a test reads afterwards is what the engine decided.
 */
@Injectable()
export class StentTestHarness implements OnModuleDestroy {
  /** How many times a crash was simulated (crash() and crashOnStep()). */
  crashes = 0;
  private restartPending = false;
  private halting: Promise<void> = Promise.resolve();
  private readonly replayCounts = new Map<string, number>();
  private readonly onStarted = ({ executionId, replay }: StentEventMap['execution.started'][0]): void => {
    if (replay) this.replayCounts.set(executionId, (this.replayCounts.get(executionId) ?? 0) + 1);
  };

  constructor(
    readonly executor: StentExecutor,
    readonly clock: ManualClock,
    @Inject(STENT_TESTING_OPTIONS) private readonly options: StentTestingOptions,
  ) {
    executor.events.on('execution.started', this.onStarted);
  }

  onModuleDestroy(): void {
    this.executor.events.off('execution.started', this.onStarted);
  }

  /** The clock's time. */
  now(): Date {
    return new Date(this.clock.now());
  }

  /** Runs everything that is due until nothing is left, then returns. Time does not move. */
  async drain(options: DrainOptions = {}): Promise<void> {
    await this.settle(options.waitForActivities !== false, options.timeout);
  }

  /**
   * Moves the clock forward by `duration` (sleeps, signal time-outs, retry back-offs, delays, maxDuration
   * and activity time-outs that fall inside come due) and drains. The process is taken to have been alive
   * throughout: leases it holds are extended across the jump rather than left to expire.
   */
  async advance(duration: Duration, options: DrainOptions = {}): Promise<void> {
    const target = this.clock.now() + parseDuration(duration);
    // Time passes as it would: what falls due on the way happens at its own time (a sleep ending on day
    // 30 of 32 starts the next timer on day 30), so the clock stops at each scheduled time on the way.
    for (;;) {
      // What is due now happens now (an activity that is to time out has to have started first).
      await this.settle(false, options.timeout);
      const next = (await this.nextScheduled()).at;
      const stop = next === null || next > target ? target : next;
      await this.holdLeasesAcross(stop - this.clock.now());
      this.clock.advanceTo(stop);
      if (stop >= target) break;
    }
    await this.drain(options);
  }

  /** Advances to `time` (never back) and drains. */
  async advanceTo(time: Date | number, options: DrainOptions = {}): Promise<void> {
    const target = typeof time === 'number' ? time : time.getTime();
    await this.advance(Math.max(0, target - this.clock.now()), options);
  }

  /**
   * Drains and moves the clock from one scheduled time to the next (a sleep's end, a retry, a time-out, a
   * deadline, in this execution or its children) until the execution ends; returns its outcome. Throws
   * ExecutionStuckError when it waits for something no time brings (a signal without a time-out).
   */
  async runToCompletion<W>(executionId: ExecutionId<W>, options?: DrainOptions): Promise<Outcome<RunResult<W>>>;
  async runToCompletion<R = unknown>(executionId: string, options?: DrainOptions): Promise<Outcome<R>>;
  async runToCompletion(executionId: string, options: DrainOptions = {}): Promise<Outcome<unknown>> {
    await this.drain(options);
    for (;;) {
      const execution = await this.executor.getExecution(executionId);
      // An execution that continued as new: run its continuation, down the chain to the last.
      if (isFinalState(execution.state) && execution.continuedAs) {
        executionId = execution.continuedAs;
        continue;
      }
      if (isFinalState(execution.state)) return this.executor.waitFor(executionId, { timeout: '10s' });
      const next = await this.nextScheduled(executionId);
      if (next.at === null) throw new ExecutionStuckError(executionId, next.waitingOn);
      await this.advanceTo(next.at, options);
    }
  }

  /**
   * Simulates the death of the process now: what the worker held in memory is lost (results not yet
   * written, runs, attempts under way), its leases run out (the clock moves by the lease), a new worker
   * starts, replays the executions from their journals and runs again the steps that were running.
   */
  async crash(options: DrainOptions = {}): Promise<void> {
    this.halting = this.haltWorker();
    this.restartPending = true;
    await this.drain(options);
  }

  /**
   * Arms a crash for the moment an attempt of activity `name` starts (its body begins; its outcome is
   * lost). The restart happens in the drain under way or the next one: runToCompletion, advance or drain.
   */
  crashOnStep(name: string, options: { attempt?: number } = {}): void {
    const onStep = (step: StentEventMap['step.started'][0]): void => {
      if (step.name !== name || (options.attempt !== undefined && step.attempt !== options.attempt)) return;
      this.executor.events.off('step.started', onStep);
      // After the synchronous part of this round (the other attempts it starts die too), before any outcome.
      queueMicrotask(() => {
        this.halting = this.haltWorker();
        this.restartPending = true;
      });
    };
    this.executor.events.on('step.started', onStep);
  }

  /** How many times the execution was started again from a non-empty journal (a replay). */
  replays(executionId: string): number {
    return this.replayCounts.get(executionId) ?? 0;
  }

  // ---- the journal ---------------------------------------------------------------------------

  /** The execution's steps in call order: kind, name, state and attempts. */
  steps(executionId: string): Promise<StepSummary[]> {
    return stepsOf(this.executor, executionId);
  }

  /** Names of the activities the execution called, in call order. */
  async activityCalls(executionId: string): Promise<string[]> {
    return (await this.steps(executionId)).filter((step) => step.kind === 'activity').map((step) => step.name);
  }

  /** Attempts of activity `name` in the execution, over all its calls. */
  async attempts(executionId: string, name: string): Promise<number> {
    return (await this.steps(executionId)).filter((step) => step.name === name).reduce((sum, step) => sum + step.attempts, 0);
  }

  /**
   * Throws JournalMismatchError unless the journal holds exactly these steps in this order; a string
   * checks a step's name, an object the fields it gives (`{ name: 'Payments.charge', attempts: 2 }`);
   * `kinds` leaves out the other kinds of step (say, the values Stent.now() records).
   */
  expectJournal(executionId: string, expected: ExpectedStep[], options?: JournalFilter): Promise<void> {
    return expectJournalOf(this.executor, executionId, expected, options);
  }

  // ---- internals -------------------------------------------------------------------------------

  private get worker(): Worker {
    const worker = this.executor.worker;
    if (!worker) throw new ConfigurationError('StentTestHarness drives a worker: this testing module runs none (worker: false)');
    return worker;
  }

  /** Waits until nothing in the engine moves (see unsettled); restarts a crashed worker on the way. */
  private async settle(waitForActivities: boolean, timeout: Duration | undefined): Promise<void> {
    const timeoutMs = parseDuration(timeout ?? this.options.drainTimeout ?? '30s');
    const deadline = Date.now() + timeoutMs;
    let quietLooks = 0;
    for (;;) {
      if (this.restartPending) await this.restart();
      // Schedules due at this time start their runs now, not at the worker's next look.
      if ((await this.executor.schedules.fireDue()) > 0) quietLooks = 0;
      const left = await this.unsettled(waitForActivities);
      // Settled twice in a row, a macrotask apart: nothing was about to start between the looks.
      if (left === undefined) {
        if (++quietLooks >= 2) return;
      } else {
        quietLooks = 0;
        if (left.due) this.wakeWorker();
      }
      if (Date.now() > deadline) throw new DrainTimeoutError(timeoutMs, left?.what ?? 'the engine kept changing');
      await new Promise((resolve) => setTimeout(resolve, LOOK_EVERY_MS));
    }
  }

  /** What still moves, or undefined once the engine has settled; `due` when a claim round would find work. */
  private async unsettled(waitForActivities: boolean): Promise<{ what: string; due: boolean } | undefined> {
    const worker = this.worker;
    if (worker.state !== 'running') return { what: `the worker is ${worker.state}`, due: false };
    const next = this.clock.nextDueAt();
    if (next !== null && next <= this.clock.now()) return { what: 'timers are due', due: false };
    const busy = worker.unsettled();
    if (busy) return { what: busy, due: false };
    const attempts = [...worker.runner.attempts.values()];
    if (waitForActivities && attempts.length > 0) {
      return { what: `activity attempts are running: ${attempts.map((attempt) => attempt.step.name).join(', ')}`, due: false };
    }
    // Claimed here, they start as slots free (see ActivityRunner.waiting).
    const waiting = worker.runner.waiting.size;
    if (waitForActivities && waiting > 0) return { what: `${waiting} claimed activity step(s) wait for a slot`, due: false };
    const stats = await this.executor.store.stats(this.clock.now());
    // Work held by a paused queue or workflow type waits for the resume: not something to drain.
    if ((stats.activities.due > 0 || stats.oldestDueAt !== null) && (await this.executor.store.listPaused()).length > 0) return undefined;
    if (stats.activities.due > 0) return { what: `${stats.activities.due} activity step(s) are due and no worker here takes them (queue, tags or name not served?)`, due: true };
    if (stats.oldestDueAt !== null && stats.oldestDueAt <= this.clock.now()) return { what: 'executions are due and no worker here takes them (queue or workflow not served?)', due: true };
    if (waitForActivities && stats.activities.running > attempts.length + waiting) return { what: `${stats.activities.running} activity step(s) are running elsewhere`, due: false };
    return undefined;
  }

  /** Due work in the database: make the claim loop look for all kinds at once rather than at its next poll. */
  private wakeWorker(): void {
    const loop = this.worker.loop;
    loop.hints.woken = true;
    loop.workAnnounced();
  }

  /** The worker is alive through a jump of the clock: what it holds stays held past the jump. */
  private async holdLeasesAcross(ms: number): Promise<void> {
    await this.worker.leases.holdAcross(ms);
  }


  /**
   * Stops the worker as a crash would, and makes the leases it held run out where the database judges them
   * by its own clock (PostgreSQL); on the engine's clock, restart() moves the clock past them.
   */
  private async haltWorker(): Promise<void> {
    const owner = this.worker.ownerId;
    await this.worker.halt();
    await this.worker.store.forfeitLeases?.(owner);
  }

  /** The crashed worker's leases run out and a new worker starts (a restarted process). */
  private async restart(): Promise<void> {
    this.restartPending = false;
    const worker = this.worker;
    await this.halting;
    this.clock.advance(worker.settings.leaseMs + 1);
    this.crashes++;
    await worker.start();
  }

  /**
   * The earliest time to come that something is scheduled for (a wake-up, a deadline, a step's retry or
   * timer, a running attempt's time-out): for one execution and its children, or for every active one
   * and every schedule's next tick.
   * With an execution, also what it waits on.
   */
  private async nextScheduled(executionId?: string): Promise<{ at: number | null; waitingOn: string[] }> {
    const now = this.clock.now();
    const store = this.executor.store;
    const attemptDeadlines = new Map<string, number>();
    for (const attempt of this.worker.runner.attempts.values()) {
      if (attempt.step.timeoutMs !== null) attemptDeadlines.set(attempt.step.id, attempt.startedAt + attempt.step.timeoutMs);
    }
    let at: number | null = null;
    const consider = (time: number | null): void => {
      if (time !== null && time > now && (at === null || time < at)) at = time;
    };
    const waitingOn: string[] = [];
    const visit = async (execution: ExecutionRecord | null, children: boolean): Promise<void> => {
      if (!execution || isFinalState(execution.state)) return;
      consider(execution.wakeAt);
      consider(execution.deadlineAt);
      for (const step of await store.loadJournal(execution.id)) {
        if (step.state === 'completed' || step.state === 'failed' || step.state === 'cancelled') continue;
        if (execution.id === executionId) waitingOn.push(`${step.kind} ${step.name} (${step.state})`);
        if (step.state === 'pending') consider(step.availableAt);
        consider(step.fireAt);
        consider(attemptDeadlines.get(step.id) ?? null);
        if (children && step.childExecutionId) await visit(await store.getExecution(step.childExecutionId), true);
      }
    };
    if (executionId !== undefined) {
      await visit(await store.getExecution(executionId), true);
    } else {
      // The clock stops at every schedule's tick on the way, so each tick runs (none is a missed one).
      for (const schedule of await store.listSchedules()) if (schedule.state === 'active') consider(schedule.nextTickAt);
      for (let offset = 0; ; offset += 1000) {
        const { items } = await store.listExecutions({ state: ['pending', 'running'] }, { limit: 1000, offset });
        for (const execution of items) await visit(execution, false);
        if (items.length < 1000) break;
      }
    }
    return { at, waitingOn };
  }
}
