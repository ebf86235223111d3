import { randomUUID } from 'node:crypto';
import { scopeStorage, type WorkflowScope } from './context.js';
import type { ResolvedActivityOptions, WorkflowDefinition } from './definitions.js';
import { ActivityFailedError, ConfigurationError, NonDeterminismError, SignalTimeoutError, StentError, WorkflowTimedOutError } from './errors/index.js';
import { decode, decodeError, encode, encodeError } from './serialization.js';
import type { DeliveryRecord, ExecutionFence, ExecutionRecord, LocalCompletion, NewStep, StepCompletion, StepEffect, StepKind, StepRecord } from './store.js';
import type { RunHost } from './run-host.js';
import type { Timer } from './clock/clock.js';
import type { RegisteredWorkflow } from './registry.js';

interface Waiter {
  position: number;
  kind: StepKind;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** For timers and signal time-outs: when the wait ends on its own. */
  fireAt: number | null;
  /** For signal waits: the signal's name. */
  signal?: string;
  timer?: Timer;
  /** Replay: the step already settled in the journal; its outcome is handed back in its recorded turn. */
  recorded?: StepRecord;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The deliveries of one recorded turn, in their recorded order. */
interface RecordedTurn {
  turn: number;
  positions: number[];
}

type RunStatus = 'running' | 'ended';

/** A promise that never settles: what user code sees once its run was abandoned (lease lost, suspended). */
function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

/**
 * One execution of a workflow held in memory by a worker. It assigns journal positions at call time,
 * answers completed positions from the journal, records new steps in batches and waits for the rest.
 */
export class WorkflowRun implements WorkflowScope {
  readonly kind = 'workflow' as const;
  readonly executionId: string;
  readonly fence: ExecutionFence;
  private readonly journal = new Map<number, StepRecord>();
  private readonly waiters = new Map<number, Waiter>();
  private nextPosition = 0;
  private pendingInserts: NewStep[] = [];
  private flushQueued = false;
  private writes: Promise<unknown> = Promise.resolve();
  private status: RunStatus = 'running';
  /** Count of waits that ended, to notice progress made while a suspension was being prepared. */
  private settled = 0;
  private idleTimer: Timer | undefined;
  private deadlineTimer: Timer | undefined;
  readonly replaying: boolean;

  // Outcomes reach the workflow in turns: a batch is handed over at once, then the workflow runs until
  // it waits again (a macrotask later) before the next batch. Where the order could matter on replay it
  // is recorded with the next journal write, and a replay hands recorded outcomes back in that order.
  private turn = 0;
  private deliverySeq = 0;
  private readonly queued = new Set<number>();
  /** A first start that has recorded nothing yet: it probably needs a slot for its first activity. */
  private firstStart: boolean;
  private readonly replayTurns: RecordedTurn[] = [];
  /** Live outcomes waiting for the next turn. */
  private readonly inbox = new Map<number, Outcome>();
  private turnScheduled = false;
  /** Delivery order not yet written to the journal. */
  private unsavedDeliveries: DeliveryRecord[] = [];
  /** Since when a replay has waited for calls its next recorded turn needs (diverged if it lasts). */
  private replayStuckSince: number | undefined;

  // A revived execution retries the step at execution.revivePosition. The steps it had recorded after it saw
  // that step fail are tentative: the replay reuses one if it makes the same call at the same position before
  // the retried step's new outcome arrives; the first call that differs, and that outcome, drop the rest.
  private readonly tentative = new Set<number>();
  private reuseOpen: boolean;
  private confirmations: number[] = [];
  /** Results this run already used, not yet written (see completeLocally). */
  private pendingCompletions: LocalCompletion[] = [];

  constructor(
    private readonly host: RunHost,
    readonly execution: ExecutionRecord,
    journal: StepRecord[],
    private readonly workflow: RegisteredWorkflow,
  ) {
    this.executionId = execution.id;
    this.fence = { executionId: execution.id, owner: host.ownerId, epoch: execution.leaseEpoch };
    const turns = new Map<number, StepRecord[]>();
    this.reuseOpen = execution.revivePosition !== null;
    for (const step of journal) {
      this.journal.set(step.position, step);
      if (step.tentative) this.tentative.add(step.position);
      if (step.deliveredTurn !== null) {
        const list = turns.get(step.deliveredTurn) ?? [];
        list.push(step);
        turns.set(step.deliveredTurn, list);
        this.deliverySeq = Math.max(this.deliverySeq, step.deliveredSeq ?? 0);
      }
    }
    for (const [turn, steps] of [...turns].sort((a, b) => a[0] - b[0])) {
      this.replayTurns.push({ turn, positions: steps.sort((a, b) => (a.deliveredSeq ?? 0) - (b.deliveredSeq ?? 0)).map((step) => step.position) });
    }
    this.replaying = journal.length > 0;
    this.firstStart = journal.length === 0;
  }

  get ended(): boolean {
    return this.status === 'ended';
  }

  calledAfterEnd(what: string): void {
    this.host.logger.warn(
      `Execution ${this.executionId}: ${what} was called after this workflow run ended (from a timer or promise that outlived it); it was refused (NotInWorkflowError)`,
    );
  }

  /** Positions this run is waiting on. */
  awaitedPositions(): number[] {
    return [...this.waiters.keys()];
  }

  start(): void {
    const deadline = this.execution.deadlineAt;
    if (deadline !== null) {
      const remaining = deadline - this.host.clock.now();
      if (remaining <= 0) {
        void this.timeOut();
        return;
      }
      this.deadlineTimer = this.host.clock.setTimer(remaining, () => void this.timeOut());
    }
    let args: unknown[];
    try {
      args = decode(this.execution.args) as unknown[];
    } catch (error) {
      void this.finish('failed', null, encodeError(error));
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
          void this.finish('failed', null, encodeError(error));
          return;
        }
        void this.finish('completed', encoded, null);
      },
      (error: unknown) => {
        if (this.ended) return;
        void this.finish('failed', null, encodeError(error));
      },
    );
    this.armIdleTimer();
  }

  // ---- durable calls -------------------------------------------------------------------------

  /**
   * Takes the next position for a durable call with arguments. Returns the answer when there is one
   * already (recorded in the journal, arguments refused, run ended), else the position to record.
   */
  private takePosition(kind: StepKind, name: string, args: unknown[]): { answer: Promise<unknown> } | { position: number; encodedArgs: string } {
    if (this.ended) return { answer: never() };
    let encodedArgs: string;
    try {
      encodedArgs = encode(args, `${name}(args)`);
    } catch (error) {
      return { answer: Promise.reject(error) };
    }
    const position = this.nextPosition++;
    const recorded = this.checkJournal(position, kind, name, encodedArgs);
    if (recorded === null) return { answer: never() };
    if (recorded) return { answer: this.answerFromJournal(recorded) };
    return { position, encodedArgs };
  }

  callActivity(activity: ResolvedActivityOptions, args: unknown[]): Promise<unknown> {
    const taken = this.takePosition('activity', activity.name, args);
    if ('answer' in taken) return taken.answer;
    const { position, encodedArgs } = taken;
    const now = this.host.clock.now();
    this.enqueueInsert({
      id: randomUUID(),
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
      availableAt: now,
      fireAt: null,
      createdAt: now,
      callTurn: this.turn,
    });
    return this.wait(position, 'activity', null);
  }

  mapActivity(activity: ResolvedActivityOptions, items: unknown[][]): Promise<unknown[]> {
    return Promise.all(items.map((args) => this.callActivity(activity, args)));
  }

  callChild(workflow: WorkflowDefinition, args: unknown[]): Promise<unknown> {
    const taken = this.takePosition('child', workflow.name, args);
    if ('answer' in taken) return taken.answer;
    const { position, encodedArgs } = taken;
    const now = this.host.clock.now();
    // Unique, not derived from the position alone: an id a user chose could never collide with it.
    const childId = `${this.executionId}.${position}.${randomUUID().slice(0, 8)}`;
    const step = this.valueStep(position, 'child', workflow.name, 'waiting', null, null);
    step.args = encodedArgs;
    step.childExecutionId = childId;
    step.child = {
      id: childId,
      workflowName: workflow.name,
      args: encodedArgs,
      queue: workflow.queue,
      priority: workflow.priority ?? this.execution.priority,
      tags: workflow.tags,
      parentId: this.executionId,
      parentPosition: position,
      idempotencyKey: null,
      createdAt: now,
      wakeAt: now,
      deadlineAt: workflow.maxDurationMs === null ? null : now + workflow.maxDurationMs,
      maxDurationMs: workflow.maxDurationMs,
    };
    this.enqueueInsert(step);
    return this.wait(position, 'child', null);
  }

  sleep(ms: number): Promise<void> {
    if (this.ended) return never();
    const position = this.nextPosition++;
    const recorded = this.checkJournal(position, 'sleep', 'sleep');
    if (recorded === null) return never();
    const now = this.host.clock.now();
    // A timer that came due while nobody held the run fires at once (wait() arms it with no delay).
    if (recorded) return this.answerFromJournal(recorded) as Promise<void>;
    const fireAt = now + ms;
    this.enqueueInsert(this.valueStep(position, 'sleep', 'sleep', ms <= 0 ? 'completed' : 'waiting', null, fireAt));
    if (ms > 0) return this.wait(position, 'sleep', fireAt) as Promise<void>;
    // Already due: it still settles in a turn of its own, as it will on replay.
    const done = this.wait(position, 'sleep', null) as Promise<void>;
    this.settle(position, { ok: true, value: undefined });
    return done;
  }

  waitForSignal(name: string, timeoutMs: number | undefined): Promise<unknown> {
    if (this.ended) return never();
    const position = this.nextPosition++;
    const recorded = this.checkJournal(position, 'signal', name);
    if (recorded === null) return never();
    if (recorded) return this.answerFromJournal(recorded);
    const now = this.host.clock.now();
    const fireAt = timeoutMs === undefined ? null : now + timeoutMs;
    const step = this.valueStep(position, 'signal', name, 'waiting', null, fireAt);
    step.timeoutMs = timeoutMs ?? null;
    this.enqueueInsert(step);
    const waiting = this.wait(position, 'signal', fireAt, name);
    // A signal sent before this wait is already stored: try to take it at once (after the step is recorded).
    this.flushInserts();
    this.enqueueWrite(() => this.takeSignal(position, name, false));
    return waiting;
  }

  /** Consumes a stored signal for the wait at `position` (recorded in the same transaction as the step). */
  private async takeSignal(position: number, name: string, timedOut: boolean): Promise<void> {
    if (this.ended || !this.stillOpen(position)) return;
    const waiter = this.waiters.get(position)!;
    const timeoutMs = waiter.fireAt !== null ? (this.journal.get(position)?.timeoutMs ?? 0) : 0;
    const outcome = await this.host.store.consumeSignal(
      this.fence,
      position,
      name,
      this.host.clock.now(),
      timedOut ? encodeError(new SignalTimeoutError(name, timeoutMs)) : null,
    );
    if (outcome.kind === 'lost') return this.abandon('lease lost while taking a signal');
    if (outcome.kind === 'received') this.settle(position, { ok: true, value: decode(outcome.payload) });
    else if (outcome.kind === 'timed_out') this.settle(position, { ok: false, error: new SignalTimeoutError(name, timeoutMs) });
  }

  recordValue<T>(label: string, produce: () => T): T {
    if (this.ended) throw new StentError('This workflow run has ended');
    const position = this.nextPosition++;
    const recorded = this.checkJournal(position, 'value', label);
    if (recorded === null) throw new StentError('This workflow run has ended');
    if (recorded) return decode(recorded.result) as T;
    const value = produce();
    this.enqueueInsert(this.valueStep(position, 'value', label, 'completed', encode(value), null));
    return value;
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
    this.recordEffect('setProgress', { kind: 'progress', value: encode(progress, 'Stent.setProgress(progress)') });
  }

  incrementCounter(name: string, by: number): void {
    if (!Number.isFinite(by)) throw new StentError(`incrementCounter('${name}'): the increment must be a finite number`);
    this.recordEffect(`counter:${name}`, { kind: 'counter', name, by });
  }

  setState(key: string, value: unknown): void {
    if (typeof key !== 'string' || key === '') throw new ConfigurationError('Stent.setState: the key must be a non-empty string');
    this.recordEffect(`state:${key}`, { kind: 'state', key, value: encode(value, `Stent.setState('${key}')`) });
  }

  /** A change to the execution, taken as a journal position so a replay does not apply it twice. */
  private recordEffect(label: string, effect: StepEffect): void {
    if (this.ended) return;
    if (effect.kind !== 'counter') JSON.parse(effect.value);
    const position = this.nextPosition++;
    // The effect is kept with the step, so the execution's totals can be rebuilt if steps are dropped.
    const args = JSON.stringify(effect);
    const recorded = this.checkJournal(position, 'value', label, args);
    if (recorded !== undefined) return;
    const step = this.valueStep(position, 'value', label, 'completed', null, null);
    step.args = args;
    step.effect = effect;
    this.enqueueInsert(step);
  }

  // ---- journal -------------------------------------------------------------------------------

  /** The recorded step at `position`, undefined if none, null if the run was failed for non-determinism. */
  private checkJournal(position: number, kind: StepKind, name: string, args: string | null = null): StepRecord | undefined | null {
    const recorded = this.journal.get(position);
    if (!recorded) return undefined;
    if (this.tentative.has(position)) {
      if (this.reuseOpen && recorded.kind === kind && recorded.name === name && (recorded.args ?? null) === args) {
        this.tentative.delete(position);
        this.confirmTentative(position);
        return recorded;
      }
      this.dropTentative([...this.tentative].filter((p) => p >= position));
      return undefined;
    }
    if (recorded.kind !== kind || recorded.name !== name) {
      void this.failNonDeterministic(new NonDeterminismError(position, recorded.name, name));
      return null;
    }
    return recorded;
  }

  private answerFromJournal(step: StepRecord): Promise<unknown> {
    if (step.state === 'completed' || step.state === 'failed') return this.wait(step.position, step.kind, null, undefined, step);
    if (step.state === 'cancelled') return never();
    if (step.kind === 'signal') {
      const waiting = this.wait(step.position, 'signal', step.fireAt, step.name);
      const overdue = step.fireAt !== null && step.fireAt <= this.host.clock.now();
      this.enqueueWrite(() => this.takeSignal(step.position, step.name, overdue));
      return waiting;
    }
    return this.wait(step.position, step.kind, step.fireAt);
  }

  private failureOf(step: StepRecord): Error {
    const cause = decodeError(step.error) ?? new StentError('unknown failure');
    if (step.kind === 'activity') return new ActivityFailedError(step.name, step.attempts, cause, step.position, this.executionId);
    return cause;
  }

  private outcomeOf(step: StepRecord): Outcome {
    return step.state === 'completed' ? { ok: true, value: decode(step.result) } : { ok: false, error: this.failureOf(step) };
  }

  private valueStep(position: number, kind: StepKind, name: string, state: 'completed' | 'waiting', result: string | null, fireAt: number | null): NewStep {
    const now = this.host.clock.now();
    return {
      id: randomUUID(),
      executionId: this.executionId,
      position,
      kind,
      name,
      args: null,
      state,
      result,
      retryPolicy: null,
      timeoutMs: null,
      queue: this.execution.queue,
      priority: this.execution.priority,
      tags: [],
      maxConcurrent: null,
      availableAt: now,
      fireAt,
      createdAt: now,
      callTurn: this.turn,
    };
  }

  // ---- waiting and delivery ------------------------------------------------------------------

  private wait(position: number, kind: StepKind, fireAt: number | null, signal?: string, recorded?: StepRecord): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { position, kind, resolve, reject, fireAt, signal, recorded };
      if (fireAt !== null && !recorded) {
        const delay = Math.max(0, fireAt - this.host.clock.now());
        if (delay <= this.host.timerHorizonMs) waiter.timer = this.host.clock.setTimer(delay, () => this.fire(waiter));
      }
      this.waiters.set(position, waiter);
      if (recorded || this.replayTurns.length > 0) this.scheduleTurn();
      this.armIdleTimer();
    });
  }

  /** A timer came due while this run is in memory. */
  private fire(waiter: Waiter): void {
    if (this.ended || this.waiters.get(waiter.position) !== waiter || !this.stillOpen(waiter.position)) return;
    if (waiter.kind === 'sleep') {
      this.enqueueWrite(async () => {
        const ok = await this.host.store.resolveStep(this.fence, waiter.position, 'completed', null, null, this.host.clock.now());
        if (!ok) return this.abandon('lease lost while recording a timer');
        this.settle(waiter.position, { ok: true, value: undefined });
      });
    } else if (waiter.kind === 'signal') {
      this.enqueueWrite(() => this.takeSignal(waiter.position, waiter.signal!, true));
    }
  }

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
    const waiter = this.waiters.get(step.position);
    if (waiter?.recorded) return; // a replay hands it back in its recorded turn
    this.journal.set(step.position, step);
    if (step.state === 'completed' || step.state === 'failed') this.settle(step.position, this.outcomeOf(step));
  }

  /** Whether the call at `position` still waits for its outcome (none has arrived, none is recorded). */
  private stillOpen(position: number): boolean {
    const waiter = this.waiters.get(position);
    return waiter !== undefined && !waiter.recorded && !this.inbox.has(position);
  }

  /** A live outcome: handed to the workflow with the next turn. */
  private settle(position: number, outcome: Outcome): void {
    if (this.ended) return;
    const waiter = this.waiters.get(position);
    if (!waiter || waiter.recorded) return;
    waiter.timer?.cancel();
    waiter.timer = undefined;
    this.inbox.set(position, outcome);
    this.scheduleTurn();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled || this.ended) return;
    this.turnScheduled = true;
    // A macrotask later: the workflow's continuations of the last turn have all run by then.
    setImmediate(() => {
      this.turnScheduled = false;
      this.nextTurn();
    });
  }

  /** Hands the workflow its next batch of outcomes: the next recorded turn on replay, else what arrived. */
  private nextTurn(): void {
    if (this.ended) return;
    if (this.replayTurns.length > 0) {
      this.replayTurn();
      return;
    }
    const batch: Array<{ position: number; outcome: Outcome }> = [];
    // Recorded outcomes whose order was never written: nothing written depends on it, so any order is the
    // original one as far as the journal can tell. They settled before anything live, so they come first,
    // one per turn, in the order they finished (a retried step's new outcome last, so that what the replay
    // repeats before it is reused); what arrived live waits until they are through.
    const unordered = [...this.waiters.values()].filter((waiter) => waiter.recorded);
    const retried = this.execution.revivePosition;
    unordered.sort(
      (a, b) =>
        Number(a.position === retried) - Number(b.position === retried) ||
        (a.recorded!.finishedAt ?? 0) - (b.recorded!.finishedAt ?? 0) ||
        a.position - b.position,
    );
    if (unordered.length > 0) {
      batch.push({ position: unordered[0]!.position, outcome: this.outcomeOf(unordered[0]!.recorded!) });
      if (unordered.length > 1 || this.inbox.size > 0) this.scheduleTurn();
    } else {
      for (const [position, outcome] of this.inbox) batch.push({ position, outcome });
      this.inbox.clear();
    }
    if (batch.length === 0) return;
    const orderMatters = this.waiters.size > 1;
    this.turn++;
    for (const { position, outcome } of batch) {
      const seq = ++this.deliverySeq;
      if (orderMatters || !outcome.ok) this.unsavedDeliveries.push({ position, turn: this.turn, seq });
      this.hand(position, outcome);
    }
    this.armIdleTimer();
  }

  private replayTurn(): void {
    const next = this.replayTurns[0]!;
    if (next.positions.every((position) => this.waiters.get(position)?.recorded)) {
      this.replayTurns.shift();
      this.replayStuckSince = undefined;
      this.turn = next.turn;
      for (const position of next.positions) this.hand(position, this.outcomeOf(this.waiters.get(position)!.recorded!));
    } else {
      // A lone outstanding call's outcome needs no recorded order: it is the only thing that can come next.
      const [only, ...others] = this.waiters.values();
      if (!only || others.length > 0 || !only.recorded || only.recorded.deliveredTurn !== null) {
        this.replayStuckSince ??= this.host.clock.now();
        this.armIdleTimer();
        return;
      }
      this.replayStuckSince = undefined;
      this.turn++;
      this.hand(only.position, this.outcomeOf(only.recorded));
    }
    this.scheduleTurn();
    this.armIdleTimer();
  }

  private hand(position: number, outcome: Outcome): void {
    const waiter = this.waiters.get(position);
    if (!waiter) return;
    this.waiters.delete(position);
    this.settled++;
    if (this.reuseOpen && position === this.execution.revivePosition) {
      // The retried step's new outcome: what the workflow does next is new; nothing more is reused.
      this.reuseOpen = false;
      this.dropTentative([...this.tentative], true);
    }
    waiter.timer?.cancel();
    if (outcome.ok) waiter.resolve(outcome.value);
    else waiter.reject(outcome.error);
  }

  /** Forgets tentative steps (in memory now, in the database with the next writes). */
  private dropTentative(positions: number[], reviveSettled = false): void {
    for (const position of positions) {
      this.tentative.delete(position);
      this.journal.delete(position);
    }
    if (positions.length === 0 && !reviveSettled) return;
    this.flushConfirmations();
    this.enqueueWrite(async () => {
      if (!(await this.host.store.discardSteps(this.fence, positions, reviveSettled))) this.abandon('lease lost while dropping steps');
    });
  }

  /** A tentative step the replay repeated is part of the journal again (written in a batch, in order). */
  private confirmTentative(position: number): void {
    this.confirmations.push(position);
    if (this.confirmations.length === 1) queueMicrotask(() => this.flushConfirmations());
  }

  private flushConfirmations(): void {
    if (this.confirmations.length === 0) return;
    const positions = this.confirmations;
    this.confirmations = [];
    this.enqueueWrite(async () => {
      if (!(await this.host.store.confirmSteps(this.fence, positions))) this.abandon('lease lost while confirming steps');
    });
  }

  /**
   * An activity of this run succeeded in this worker: the workflow gets the result in the next turn, and
   * the result is recorded with the run's next journal write (one commit for both), or on its own once the
   * workflow has moved on without one.
   */
  completeLocally(step: StepRecord, completion: LocalCompletion): void {
    this.pendingCompletions.push(completion);
    this.journal.set(step.position, { ...step, state: 'completed', result: completion.result, finishedAt: completion.finishedAt, leaseOwner: null });
    this.settle(step.position, { ok: true, value: decode(completion.result) });
    // After the turn that hands the result over: by then its continuation has asked for any write.
    setImmediate(() => {
      if (this.pendingCompletions.length > 0 && !this.ended) this.enqueueWrite(async () => undefined);
    });
  }

  private asCompletion(c: LocalCompletion, wakeExecution = true): StepCompletion {
    return { fence: c.fence, executionId: this.executionId, outcome: { kind: 'completed', result: c.result }, finishedAt: c.finishedAt, wakeExecution };
  }

  private takeCompletions(): LocalCompletion[] {
    const taken = this.pendingCompletions;
    this.pendingCompletions = [];
    return taken;
  }

  /** Writes results the workflow already used that no other write has carried yet. */
  private async writePendingCompletions(): Promise<void> {
    const completions = this.takeCompletions();
    if (completions.length === 0) return;
    const owned = await this.host.store.completeSteps(completions.map((c) => this.asCompletion(c, false)));
    if (owned.some((ok) => !ok)) this.abandon('lease lost while recording a result');
  }

  /** Delivery order to write with the next journal write. */
  private takeDeliveries(): DeliveryRecord[] {
    const taken = this.unsavedDeliveries;
    this.unsavedDeliveries = [];
    return taken;
  }

  /** Re-reads the steps this run waits on (another process may have finished them). */
  async refresh(): Promise<void> {
    if (this.ended || this.waiters.size === 0) return;
    await this.writes;
    const open = [...this.waiters.values()].filter((waiter) => this.stillOpen(waiter.position));
    const signalWaits = open.filter((waiter) => waiter.kind === 'signal');
    const others = open.filter((waiter) => waiter.kind !== 'signal').map((waiter) => waiter.position);
    for (const waiter of signalWaits) this.enqueueWrite(() => this.takeSignal(waiter.position, waiter.signal!, false));
    const steps = await this.host.store.loadSteps(this.executionId, others);
    for (const step of steps) if (step.state === 'completed' || step.state === 'failed') this.deliver(step);
    await this.writes;
  }

  // ---- writes --------------------------------------------------------------------------------

  private enqueueInsert(step: NewStep): void {
    this.pendingInserts.push(step);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Every durable call made in the same synchronous stretch (Promise.all over a map) lands in one batch.
    queueMicrotask(() => this.flushInserts());
  }

  private flushInserts(): void {
    this.flushQueued = false;
    if (this.pendingInserts.length === 0) return;
    const batch = this.pendingInserts;
    this.pendingInserts = [];
    this.enqueueWrite(() => this.insert(batch), true);
  }

  private async insert(batch: NewStep[]): Promise<void> {
    this.firstStart = false;
    if (this.ended) return;
    const local = this.host.reserveLocal(batch);
    for (const step of batch) if (!step.claimedBy && this.host.couldRunHere(step)) this.queued.add(step.position);
    let ok: boolean;
    try {
      ok = await this.host.store.insertSteps(this.fence, batch, this.takeDeliveries(), this.takeCompletions());
    } catch (error) {
      this.host.cancelReservations(local);
      throw error;
    }
    if (!ok) {
      this.host.cancelReservations(local);
      this.abandon('lease lost while recording steps');
      return;
    }
    for (const step of batch) {
      this.journal.set(step.position, {
        ...step,
        result: step.result ?? null,
        error: step.error ?? null,
        attempts: step.claimedBy ? 1 : 0,
        leaseOwner: step.claimedBy?.owner ?? null,
        leaseEpoch: step.claimedBy ? 1 : 0,
        leaseExpiresAt: step.claimedBy?.leaseExpiresAt ?? null,
        recoveries: 0,
        startedAt: step.claimedBy ? step.createdAt : null,
        finishedAt: null,
        childExecutionId: step.childExecutionId ?? null,
        deliveredTurn: null,
        deliveredSeq: null,
        tentative: false,
      });
    }
    this.host.startReserved(this, local);
    if (local.length < batch.filter((s) => s.kind === 'activity').length) this.host.announceWork();
  }

  /**
   * Runs database writes of this run one after another, in call order. Results the workflow already used
   * go first (an insert carries them in its own statement).
   */
  private enqueueWrite(write: () => Promise<unknown>, carriesCompletions = false): void {
    this.writes = this.writes.then(async () => {
      if (!carriesCompletions) await this.writePendingCompletions();
      if (!this.ended) await write();
    }).catch((error: unknown) => {
      this.host.logger.error(`Execution ${this.executionId}: a journal write failed; the run is abandoned and will be replayed`, error);
      this.abandon('journal write failed');
    });
  }

  // ---- ending --------------------------------------------------------------------------------

  private armIdleTimer(): void {
    this.idleTimer?.cancel();
    this.idleTimer = undefined;
    if (this.ended || this.waiters.size === 0) return;
    if (this.replayStuckSince !== undefined) {
      const left = this.replayStuckSince + Math.max(1_000, this.host.suspendAfterMs) - this.host.clock.now();
      this.idleTimer = this.host.clock.setTimer(Math.max(0, left), () => this.replayDiverged());
      return;
    }
    // Waiting on timers, signals or children is what suspension is for. A run waiting on activity work
    // (queued behind other work, or running elsewhere) is usually moments from going on, and replaying it
    // would cost more than holding it, so it is kept far longer before it is let go.
    let waitsOnActivity = false;
    for (const waiter of this.waiters.values()) if (waiter.kind === 'activity') waitsOnActivity = true;
    const after = waitsOnActivity ? Math.max(30_000, this.host.suspendAfterMs) : this.host.suspendAfterMs;
    this.idleTimer = this.host.clock.setTimer(after, () => void this.suspend());
  }

  private clearTimers(): void {
    this.idleTimer?.cancel();
    this.deadlineTimer?.cancel();
    for (const waiter of this.waiters.values()) waiter.timer?.cancel();
  }

  private end(): boolean {
    if (this.ended) return false;
    this.status = 'ended';
    this.clearTimers();
    return true;
  }

  /** Drops the run from memory without writing anything; the database decides who runs it next. */
  abandon(reason: string): void {
    if (!this.end()) return;
    this.waiters.clear();
    // Results the workflow used but never recorded: still worth recording (each is fenced by its own lease).
    this.host.recordCompletions(this.takeCompletions().map((c) => this.asCompletion(c)));
    this.host.runEnded(this, { kind: 'abandoned', reason });
  }

  /** Releases a waiting run: it holds no memory and is replayed when what it waits for happens. */
  async suspend(): Promise<void> {
    if (this.ended || this.waiters.size === 0) return;
    // Record everything the workflow has asked for so far before letting go of it.
    const progress = this.settled;
    this.flushInserts();
    this.enqueueWrite(async () => undefined); // carries results not written yet
    await this.writes;
    if (this.ended || this.waiters.size === 0) return;
    if (this.settled !== progress || this.inbox.size > 0 || this.turnScheduled) {
      this.armIdleTimer();
      return;
    }
    const positions = this.awaitedPositions();
    const signals = [...new Set([...this.waiters.values()].flatMap((waiter) => (waiter.signal ? [waiter.signal] : [])))];
    let wakeAt: number | null = this.execution.deadlineAt;
    for (const waiter of this.waiters.values()) {
      if (waiter.fireAt !== null && (wakeAt === null || waiter.fireAt < wakeAt)) wakeAt = waiter.fireAt;
    }
    this.end();
    this.waiters.clear();
    try {
      const ok = await this.host.store.suspendExecution(this.fence, wakeAt, positions, signals, this.host.clock.now(), this.takeDeliveries());
      this.host.runEnded(this, ok ? { kind: 'suspended', wakeAt } : { kind: 'abandoned', reason: 'lease lost before suspending' });
    } catch (error) {
      this.host.logger.error(`Execution ${this.executionId}: suspending failed; it will be recovered when its lease expires`, error);
      this.host.runEnded(this, { kind: 'abandoned', reason: 'suspend failed' });
    }
  }

  private async finish(state: 'completed' | 'failed' | 'timed_out', result: string | null, error: string | null): Promise<void> {
    if (this.ended) return;
    if (state !== 'timed_out') {
      // Wait until every step the workflow recorded is in the journal before closing the execution.
      this.clearTimers();
      this.flushInserts();
      await this.writes;
      if (this.ended) return;
    }
    const leftovers = this.waiters.size > 0;
    if (!this.end()) return;
    this.waiters.clear();
    const completions = this.takeCompletions();
    try {
      // A completed execution is never replayed: the order of its deliveries no longer matters.
      const ok = await this.host.store.finishExecution(this.fence, state, result, error, this.host.clock.now(), {
        hasParent: this.execution.parentId !== null,
        leftovers,
        deliveries: state === 'completed' ? [] : this.takeDeliveries(),
        discard: [...this.tentative],
        completions,
      });
      this.host.runEnded(this, ok ? { kind: 'finished', state, result, error } : { kind: 'abandoned', reason: 'lease lost before the result was recorded' });
    } catch (failure) {
      this.host.logger.error(`Execution ${this.executionId}: recording its ${state} state failed; it will be replayed`, failure);
      this.host.recordCompletions(completions.map((c) => this.asCompletion(c)));
      this.host.runEnded(this, { kind: 'abandoned', reason: 'finish failed' });
    }
  }

  private async timeOut(): Promise<void> {
    const limit = this.execution.maxDurationMs ?? (this.execution.deadlineAt ?? 0) - this.execution.createdAt;
    await this.finish('timed_out', null, encodeError(new WorkflowTimedOutError(this.executionId, limit)));
  }

  /** A replay waited too long for calls its next recorded turn needs: the workflow took another path. */
  private replayDiverged(): void {
    const next = this.replayTurns[0];
    if (this.ended || !next) return;
    const missing = next.positions.find((position) => !this.waiters.get(position)?.recorded) ?? next.positions[0]!;
    const step = this.journal.get(missing);
    void this.failNonDeterministic(new NonDeterminismError(missing, step?.name ?? '?', '(nothing: the replay did not reach this call before its result was due)'));
  }

  private async failNonDeterministic(error: NonDeterminismError): Promise<void> {
    if (!this.end()) return;
    this.waiters.clear();
    this.host.logger.error(`Execution ${this.executionId}: ${error.message}`);
    try {
      await this.writes;
      await this.writePendingCompletions();
      const encoded = encodeError(error);
      const ok = await this.host.store.failExecutionDeadLettered(this.fence, encoded, 'non-determinism', this.host.clock.now(), this.takeDeliveries());
      this.host.runEnded(this, ok ? { kind: 'finished', state: 'failed', result: null, error: encoded } : { kind: 'abandoned', reason: 'lease lost' });
    } catch (failure) {
      this.host.logger.error(`Execution ${this.executionId}: recording the non-determinism failure failed`, failure);
      this.host.runEnded(this, { kind: 'abandoned', reason: 'non-determinism record failed' });
    }
  }
}
