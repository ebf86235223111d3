import { randomUUID } from 'node:crypto';
import type { StentLogContext } from '../logger.js';
import { scopeStorage, type WorkflowScope } from '../context.js';
import type { ResolvedActivityOptions, WorkflowDefinition } from '../definitions/definitions.js';
import { decode, encode, encodeError } from '../serialization.js';
import type { ExecutionFence, ExecutionRecord, LocalCompletion, StepRecord } from '../store/index.js';
import type { RegisteredWorkflow } from '../definitions/registry.js';
import { executionFlowKeys, flowKeys } from '../definitions/flow-limits.js';
import { JournalWriter } from './journal-writer.js';
import type { RunHost } from './run-host.js';
import { never, RunJournal } from './run-journal.js';
import { RunLifecycle } from './run-lifecycle.js';
import { completedRecord, newStepId } from './step-record.js';
import { RunStreams } from './run-streams.js';
import { TentativeSteps } from './tentative-steps.js';
import { TurnDelivery } from './turn-delivery.js';
import { callChild } from './child-calls.js';
import { continueAsNew, deprecatePatch, patched } from './history-calls.js';
import { incrementCounter, recordEffect, recordValue, setEvent, setProgress, setState } from './recorded-values.js';
import { takeSignal, waitForSignal } from './signal-calls.js';

/**
 * One execution of a workflow held in memory by a worker: the scope its durable calls run in. Each call
 * takes a journal position (RunJournal), is recorded (JournalWriter) and waits for its outcome, handed
 * over in turns (TurnDelivery); a revived run may reuse tentative steps (TentativeSteps); the run ends,
 * suspends or is abandoned through its RunLifecycle.
 */
export class WorkflowRun implements WorkflowScope {
  readonly kind = 'workflow' as const;
  readonly executionId: string;
  /** The lease this run holds; its epoch changes when a suspended run is resumed under a new claim. */
  readonly fence: ExecutionFence;
  readonly replaying: boolean;
  readonly journal: RunJournal;
  readonly delivery: TurnDelivery;
  readonly tentative: TentativeSteps;
  readonly writer: JournalWriter;
  readonly lifecycle: RunLifecycle;
  readonly streams = new RunStreams((label, effect) => recordEffect(this, label, effect));
  /** Activity steps of this run waiting in the database that the worker holding it could run. */
  readonly queued = new Set<number>();
  /** A first start that has recorded nothing yet: it probably needs a slot for its first activity. */
  firstStart: boolean;

  constructor(
    readonly host: RunHost,
    public execution: ExecutionRecord,
    journal: StepRecord[],
    private readonly workflow: RegisteredWorkflow,
  ) {
    this.executionId = execution.id;
    this.fence = { executionId: execution.id, owner: host.ownerId, epoch: execution.leaseEpoch };
    this.journal = new RunJournal(this, journal);
    this.delivery = new TurnDelivery(this, journal);
    this.tentative = new TentativeSteps(this, journal);
    this.writer = new JournalWriter(this);
    this.lifecycle = new RunLifecycle(this);
    this.replaying = journal.length > 0;
    this.firstStart = journal.length === 0;
  }

  get ended(): boolean {
    return this.lifecycle.ended;
  }

  /**
   * Ended with its end recorded, or waiting with nothing to do until something outside it happens (a timer,
   * a signal, a step): no outcome to hand over and no write pending.
   */
  get quiet(): boolean {
    if (this.ended) return this.lifecycle.endRecorded;
    return this.delivery.waitCount > 0 && !this.delivery.busy && this.writer.idle;
  }

  /** What this run's log lines are about. */
  get logContext(): StentLogContext {
    return { executionId: this.executionId, workflow: this.execution.workflowName };
  }

  calledAfterEnd(what: string): void {
    this.host.logger.warn(
      `Execution ${this.executionId}: ${what} was called after this workflow run ended (from a timer or promise that outlived it); it was refused (NotInWorkflowError)`,
      this.logContext,
    );
  }

  /** Runs the workflow's run() in this scope; its return or throw ends the execution. */
  start(): void {
    if (!this.lifecycle.armDeadline()) return;
    let args: unknown[];
    try {
      args = decode(this.execution.args) as unknown[];
    } catch (error) {
      void this.lifecycle.finish('failed', null, encodeError(error));
      return;
    }
    const promise = scopeStorage.run(this, () => {
      try {
        // Made inside the run's scope and try: a constructor is workflow code, and one that throws fails the run.
        const target = this.workflow.create();
        return Promise.resolve(this.workflow.run.apply(target, args));
      } catch (error) {
        return Promise.reject(error);
      }
    });
    promise.then(
      (value) => {
        if (this.ended) return;
        let encoded: string;
        try {
          encoded = encode(value, '$result');
        } catch (error) {
          void this.lifecycle.finish('failed', null, encodeError(error));
          return;
        }
        void this.lifecycle.finish('completed', encoded, null);
      },
      (error: unknown) => {
        if (this.ended) return;
        void this.lifecycle.finish('failed', null, encodeError(error));
      },
    );
    this.lifecycle.armIdleTimer();
  }

  // ---- durable calls (WorkflowScope) ---------------------------------------------------------

  callActivity(activity: ResolvedActivityOptions, args: unknown[]): Promise<unknown> {
    // Before the position is taken, so a key function that throws does so identically on replay.
    const keys = activity.flow.concurrency || activity.flow.rate ? flowKeys(activity.flow, args) : null;
    const taken = this.journal.takeWithArgs('activity', activity.name, args);
    if ('answer' in taken) return taken.answer;
    const { position, encodedArgs } = taken;
    const now = this.host.clock.now();
    this.writer.enqueueInsert({
      id: newStepId(),
      executionId: this.executionId,
      position,
      kind: 'activity',
      name: activity.name,
      args: encodedArgs,
      state: 'pending',
      retryPolicy: activity.retry,
      timeoutMs: activity.timeoutMs,
      queue: activity.queue,
      priority: activity.priority ?? this.execution.priority,
      tags: activity.tags,
      maxConcurrent: activity.maxConcurrent,
      ...keys,
      availableAt: now,
      fireAt: null,
      createdAt: now,
      callTurn: this.delivery.turn,
    });
    return this.delivery.wait(position, 'activity', null);
  }

  mapActivity(activity: ResolvedActivityOptions, items: unknown[][]): Promise<unknown[]> {
    return Promise.all(items.map((args) => this.callActivity(activity, args)));
  }

  /** Whether executions of this run's workflow wait for a slot of their key: its end frees one. */
  get holdsFlowSlot(): boolean {
    return this.workflow.definition.flow.concurrency !== null;
  }

  /** The flow keys a new execution of this run's workflow gets from `args` (its continuation). */
  flowKeysOf(args: unknown[]): { concurrencyKey: string | null; rateKey: string | null } {
    return executionFlowKeys(this.workflow.definition.flow, args);
  }

  /** A child workflow started as a step of this one (see child-calls.ts). */
  callChild(workflow: WorkflowDefinition, args: unknown[]): Promise<unknown> {
    return callChild(this, workflow, args);
  }

  sleep(ms: number): Promise<void> {
    if (this.ended) return never();
    const position = this.journal.take();
    const recorded = this.journal.check(position, 'sleep', 'sleep');
    if (recorded === null) return never();
    const now = this.host.clock.now();
    // A timer that came due while nobody held the run fires at once (wait() arms it with no delay).
    if (recorded) return this.journal.answer(recorded) as Promise<void>;
    const fireAt = now + ms;
    this.writer.enqueueInsert(this.journal.valueStep(position, 'sleep', 'sleep', ms <= 0 ? 'completed' : 'waiting', null, fireAt));
    if (ms > 0) return this.delivery.wait(position, 'sleep', fireAt) as Promise<void>;
    // Already due: it still settles in a turn of its own, as it will on replay.
    const done = this.delivery.wait(position, 'sleep', null) as Promise<void>;
    this.delivery.settle(position, { ok: true, value: undefined });
    return done;
  }

  waitForSignal(name: string, timeoutMs: number | undefined): Promise<unknown> {
    return waitForSignal(this, name, timeoutMs);
  }

  /** Consumes a stored signal for the wait at `position` (see signal-calls.ts). */
  takeSignal(position: number, name: string, timedOut: boolean): Promise<void> {
    return takeSignal(this, position, name, timedOut);
  }

  /** Stent.now/uuid/random and the effects (progress, counters, state, events): see recorded-values.ts. */
  recordValue<T>(label: string, produce: () => T): T {
    return recordValue(this, label, produce);
  }

  /** Stent.continueAsNew, Stent.patched, Stent.deprecatePatch: see history-calls.ts. */
  continueAsNew(args: unknown[]): Promise<never> {
    return continueAsNew(this, args);
  }

  patched(id: string): boolean {
    return patched(this, id);
  }

  deprecatePatch(id: string): void {
    deprecatePatch(this, id);
  }

  now(): Date {
    return new Date(this.recordValue('now', () => this.host.clock.now()));
  }

  uuid(): string {
    return this.recordValue('uuid', () => randomUUID());
  }

  random(): number {
    return this.recordValue('random', () => Math.random());
  }

  setProgress(progress: unknown): void {
    setProgress(this, progress);
  }

  incrementCounter(name: string, by: number): void {
    incrementCounter(this, name, by);
  }

  setState(key: string, value: unknown): void {
    setState(this, key, value);
  }

  setEvent(key: string, value: unknown): void {
    setEvent(this, key, value);
  }

  writeStream(key: string, chunk: unknown): void {
    this.streams.write(key, chunk);
  }

  closeStream(key: string): void {
    this.streams.close(key);
  }

  // ---- what the worker holding the run asks of it --------------------------------------------

  /**
   * Activity steps of this run, waiting in the database, that the worker holding it could run (a first
   * start that has not recorded its first steps yet counts as one).
   */
  get queuedHere(): number {
    return this.queued.size + (this.firstStart && !this.ended ? 1 : 0);
  }

  /** The worker started an attempt of the step at `position` (it is no longer waiting for a slot). */
  attemptStarted(position: number): void {
    this.queued.delete(position);
  }

  /** A step this run waits on finished (reported by the worker or read back from the database). */
  deliver(step: StepRecord): void {
    this.queued.delete(step.position);
    this.delivery.deliver(step);
  }

  /**
   * An activity of this run succeeded in this worker: the workflow gets the result in the next turn, and
   * the result is recorded with the run's next journal write (one commit for both), or on its own once the
   * workflow has moved on without one.
   */
  completeLocally(step: StepRecord, completion: LocalCompletion): void {
    this.writer.holdCompletion(completion);
    // A record is kept only where a replay that has not reached the call yet will look for it: for a call
    // the workflow is waiting on, the outcome goes straight to its wait (a copy of every record cost a
    // wide fan-out about 0.3 KB a step, and V8 promoted each to its old generation).
    const waiter = this.delivery.waiterAt(step.position);
    if (!waiter || waiter.recorded) this.journal.set(completedRecord(step, completion.result, completion.finishedAt));
    this.delivery.settle(step.position, { ok: true, value: decode(completion.result) });
    this.writer.writeCompletionAfterTurn(completion);
  }

  /** The run waits on the call at `position` and nothing else: its outcome is what the run goes on from. */
  waitsOnlyOn(position: number): boolean {
    return this.delivery.waitCount === 1 && this.delivery.waiterAt(position) !== undefined;
  }

  /** Re-reads the steps this run waits on (another process may have finished them). */
  async refresh(): Promise<void> {
    const positions = await this.refreshPositions();
    if (positions === undefined) return;
    await this.refreshed(await this.host.store.loadSteps(this.executionId, positions));
  }

  /**
   * First half of refresh, for a worker that reads the waits of many woken runs at once: once the run's
   * writes settled, takes its signals and returns the step positions to read back (undefined: nothing).
   */
  async refreshPositions(): Promise<number[] | undefined> {
    if (this.ended || this.delivery.waitCount === 0) return undefined;
    await this.writer.settled();
    const open = this.delivery.waiting().filter((waiter) => this.delivery.stillOpen(waiter.position));
    for (const waiter of open) if (waiter.kind === 'signal') this.writer.enqueueWrite(() => this.takeSignal(waiter.position, waiter.signal!, false));
    return open.filter((waiter) => waiter.kind !== 'signal').map((waiter) => waiter.position);
  }

  /** Second half of refresh: hands over the steps read back that finished. */
  async refreshed(steps: StepRecord[]): Promise<void> {
    for (const step of steps) if (step.state === 'completed' || step.state === 'failed') this.deliver(step);
    await this.writer.settled();
  }

  /** Drops the run from memory without writing anything; the database decides who runs it next. */
  abandon(reason: string): void {
    this.lifecycle.abandon(reason);
  }

  /** Releases a waiting run: it holds no memory and is replayed when what it waits for happens. */
  suspend(): Promise<void> {
    return this.lifecycle.suspend();
  }

  /**
   * Whether, suspended now, this run could later be resumed in memory as if it had never stopped: nothing
   * is half-way (outcomes between turns, a replay not caught up, tentative steps of a revive, unwritten
   * steps or results).
   */
  get resumable(): boolean {
    return this.delivery.quiet && this.writer.idle && this.tentative.remaining().length === 0;
  }

  /** Positions whose rows may have changed while this run was suspended: its waits, and the next free one. */
  positionsToCheck(): number[] {
    return [...this.delivery.awaitedPositions(), this.journal.taken];
  }

  /**
   * Runs a suspended run again under a new claim of its execution (SuspendedRuns checked nobody else ran
   * it in between) with `changed`, the rows of its waits read back: finished steps are handed over, stored
   * signals taken, timers started again (a due one fires at once), exactly as a replay would re-attach them.
   */
  resume(execution: ExecutionRecord, changed: StepRecord[]): void {
    this.execution = execution;
    this.fence.epoch = execution.leaseEpoch;
    if (!this.lifecycle.reopen()) return;
    const now = this.host.clock.now();
    for (const waiter of this.delivery.waiting()) {
      if (waiter.kind === 'signal') {
        const overdue = waiter.fireAt !== null && waiter.fireAt <= now;
        if (!overdue) this.delivery.armTimer(waiter);
        this.writer.enqueueWrite(() => this.takeSignal(waiter.position, waiter.signal!, overdue));
      } else if (waiter.kind === 'sleep') {
        this.delivery.armTimer(waiter);
      }
    }
    for (const step of changed) if (step.state === 'completed' || step.state === 'failed') this.deliver(step);
    this.lifecycle.armIdleTimer();
  }

  /** A kept suspended run that will not be resumed: lets go of the workflow's pending calls. */
  forget(): void {
    this.delivery.clear();
  }

  /** Positions this run is waiting on. */
  awaitedPositions(): number[] {
    return this.delivery.awaitedPositions();
  }
}
