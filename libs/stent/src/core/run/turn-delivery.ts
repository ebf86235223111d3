import type { Timer } from '../clock/clock.js';
import type { DeliveryRecord, StepKind, StepRecord } from '../store/index.js';
import { SlotTable } from '../slot-table.js';
import type { WorkflowRun } from './workflow-run.js';

/**
 * Delivery order held before it is written on its own. A fan-out's calls are all recorded before most of
 * its outcomes arrive, so no later insert would carry the order: held to the run's end, it grew with the
 * fan-out's size rather than with what is in flight.
 */
const DELIVERY_PART = 1000;

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A durable call the workflow is waiting on. */
export interface Waiter {
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

/** The deliveries of one recorded turn, in their recorded order. */
interface RecordedTurn {
  turn: number;
  positions: number[];
}

/**
 * Outcomes reach the workflow in turns: a batch is handed over at once, then the workflow runs until it
 * waits again (a macrotask later) before the next batch. Where the order could matter on replay (several
 * calls outstanding, or a failure) it is recorded with the next journal write, and a replay hands recorded
 * outcomes back in that order.
 */
export class TurnDelivery {
  /** By position; a SlotTable, not a Map, for what V8 would otherwise promote (see SlotTable). */
  private readonly waiters = new SlotTable<number, Waiter>();
  /**
   * Waits on activities, and waits a replay answers from the journal, counted as they come and go: asked
   * at every call and every turn, a scan of all waits would make a wide fan-out quadratic.
   */
  private activityWaits = 0;
  private recordedWaits = 0;
  /** The workflow's current turn (a new call records the turn it was made in). */
  turn = 0;
  private deliverySeq = 0;
  private readonly replayTurns: RecordedTurn[] = [];
  /** Live outcomes waiting for the next turn, in the order they arrived (cleared each turn: slots fill in order). */
  private readonly inbox = new SlotTable<number, Outcome>();
  private turnScheduled = false;
  /** Delivery order not yet written to the journal. */
  private unsavedDeliveries: DeliveryRecord[] = [];
  /** Since when a replay has waited for calls its next recorded turn needs (diverged if it lasts). */
  replayStuckSince: number | undefined;
  /** Count of waits that ended, to notice progress made while a suspension was being prepared. */
  settledCount = 0;

  constructor(
    private readonly run: WorkflowRun,
    recorded: StepRecord[],
  ) {
    const turns = new Map<number, StepRecord[]>();
    for (const step of recorded) {
      if (step.deliveredTurn === null) continue;
      const list = turns.get(step.deliveredTurn) ?? [];
      list.push(step);
      turns.set(step.deliveredTurn, list);
      this.deliverySeq = Math.max(this.deliverySeq, step.deliveredSeq ?? 0);
    }
    for (const [turn, steps] of [...turns].sort((a, b) => a[0] - b[0])) {
      this.replayTurns.push({ turn, positions: steps.sort((a, b) => (a.deliveredSeq ?? 0) - (b.deliveredSeq ?? 0)).map((step) => step.position) });
    }
  }

  /** Positions the workflow is waiting on, in call order. */
  awaitedPositions(): number[] {
    return [...this.waiters.keys()].sort((a, b) => a - b);
  }

  /** The waits, in call order. */
  waiting(): Waiter[] {
    return [...this.waiters.values()].sort((a, b) => a.position - b.position);
  }

  waiterAt(position: number): Waiter | undefined {
    return this.waiters.get(position);
  }

  get waitCount(): number {
    return this.waiters.size;
  }

  /** Outcomes arrived or a turn is about to hand some over. */
  get busy(): boolean {
    return this.inbox.size > 0 || this.turnScheduled;
  }

  /** The next recorded turn a replay has not reached yet. */
  get nextRecordedTurn(): RecordedTurn | undefined {
    return this.replayTurns[0];
  }

  /** Forgets every wait (the run ended). */
  clear(): void {
    this.waiters.clear();
    this.activityWaits = this.recordedWaits = 0;
  }

  cancelTimers(): void {
    for (const waiter of this.waiters.values()) waiter.timer?.cancel();
  }

  /**
   * Whether nothing is half-way: no outcome waiting for a turn, no replayed outcome still to hand back. Only
   * then can a suspended run be resumed later as if it had never stopped.
   */
  get quiet(): boolean {
    return !this.busy && this.replayTurns.length === 0 && this.recordedWaits === 0;
  }

  wait(position: number, kind: StepKind, fireAt: number | null, signal?: string, recorded?: StepRecord): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { position, kind, resolve, reject, fireAt, signal, recorded };
      if (!recorded) this.armTimer(waiter);
      this.count(this.waiters.get(position), -1);
      this.waiters.set(position, waiter);
      this.count(waiter, 1);
      if (recorded || this.replayTurns.length > 0) this.scheduleTurn();
      this.run.lifecycle.armIdleTimer();
    });
  }

  private count(waiter: Waiter | undefined, by: 1 | -1): void {
    if (!waiter) return;
    if (waiter.kind === 'activity') this.activityWaits += by;
    if (waiter.recorded) this.recordedWaits += by;
  }

  /** Whether the workflow waits on some activity. */
  get waitsOnActivity(): boolean {
    return this.activityWaits > 0;
  }

  /** Starts the timer of a wait that ends on its own (a sleep, a signal's time-out), unless it is too far away. */
  armTimer(waiter: Waiter): void {
    if (waiter.fireAt === null) return;
    const { host } = this.run;
    const delay = Math.max(0, waiter.fireAt - host.clock.now());
    if (delay <= host.timerHorizonMs) waiter.timer = host.clock.setTimer(delay, () => this.fire(waiter));
  }

  /** A timer came due while this run is in memory. */
  private fire(waiter: Waiter): void {
    const { run } = this;
    if (run.ended || this.waiters.get(waiter.position) !== waiter || !this.stillOpen(waiter.position)) return;
    if (waiter.kind === 'sleep') {
      run.writer.enqueueWrite(async () => {
        const ok = await run.host.store.resolveStep(run.fence, waiter.position, 'completed', null, null, run.host.clock.now());
        if (!ok) return run.lifecycle.abandon('lease lost while recording a timer');
        this.settle(waiter.position, { ok: true, value: undefined });
      });
    } else if (waiter.kind === 'signal') {
      run.writer.enqueueWrite(() => run.takeSignal(waiter.position, waiter.signal!, true));
    }
  }

  /** A step this run waits on finished (reported by the worker or read back from the database). */
  deliver(step: StepRecord): void {
    const waiter = this.waiters.get(step.position);
    if (waiter?.recorded) return; // a replay hands it back in its recorded turn
    // With no wait yet (a replay has not reached the call), the record is where the replay will find it.
    this.run.journal.set(step);
    if (step.state === 'completed' || step.state === 'failed') this.settle(step.position, this.run.journal.outcomeOf(step));
  }

  /** Whether the call at `position` still waits for its outcome (none has arrived, none is recorded). */
  stillOpen(position: number): boolean {
    const waiter = this.waiters.get(position);
    return waiter !== undefined && !waiter.recorded && !this.inbox.has(position);
  }

  /** A live outcome: handed to the workflow with the next turn. */
  settle(position: number, outcome: Outcome): void {
    if (this.run.ended) return;
    const waiter = this.waiters.get(position);
    if (!waiter || waiter.recorded) return;
    waiter.timer?.cancel();
    waiter.timer = undefined;
    this.inbox.set(position, outcome);
    this.scheduleTurn();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled || this.run.ended) return;
    this.turnScheduled = true;
    // A macrotask later: the workflow's continuations of the last turn have all run by then.
    setImmediate(() => {
      this.turnScheduled = false;
      this.nextTurn();
    });
  }

  /** Hands the workflow its next batch of outcomes: the next recorded turn on replay, else what arrived. */
  private nextTurn(): void {
    if (this.run.ended) return;
    if (this.replayTurns.length > 0) {
      this.replayTurn();
      return;
    }
    const batch: Array<{ position: number; outcome: Outcome }> = [];
    // Recorded outcomes whose order was never written: nothing written depends on it, so any order is the
    // original one as far as the journal can tell. They settled before anything live, so they come first,
    // one per turn, in the order they finished (a retried step's new outcome last, so that what the replay
    // repeats before it is reused); what arrived live waits until they are through.
    const unordered = this.recordedWaits > 0 ? [...this.waiters.values()].filter((waiter) => waiter.recorded) : [];
    const retried = this.run.execution.revivePosition;
    unordered.sort(
      (a, b) =>
        Number(a.position === retried) - Number(b.position === retried) ||
        (a.recorded!.finishedAt ?? 0) - (b.recorded!.finishedAt ?? 0) ||
        a.position - b.position,
    );
    if (unordered.length > 0) {
      batch.push({ position: unordered[0]!.position, outcome: this.run.journal.outcomeOf(unordered[0]!.recorded!) });
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
    if (this.unsavedDeliveries.length >= DELIVERY_PART) this.run.writer.writeDeliveries();
    this.run.lifecycle.armIdleTimer();
  }

  private replayTurn(): void {
    const next = this.replayTurns[0]!;
    if (next.positions.every((position) => this.waiters.get(position)?.recorded)) {
      this.replayTurns.shift();
      this.replayStuckSince = undefined;
      this.turn = next.turn;
      for (const position of next.positions) this.hand(position, this.run.journal.outcomeOf(this.waiters.get(position)!.recorded!));
    } else {
      // A lone outstanding call's outcome needs no recorded order: it is the only thing that can come next.
      const [only, ...others] = this.waiters.values();
      if (!only || others.length > 0 || !only.recorded || only.recorded.deliveredTurn !== null) {
        this.replayStuckSince ??= this.run.host.clock.now();
        this.run.lifecycle.armIdleTimer();
        return;
      }
      this.replayStuckSince = undefined;
      this.turn++;
      this.hand(only.position, this.run.journal.outcomeOf(only.recorded));
    }
    this.scheduleTurn();
    this.run.lifecycle.armIdleTimer();
  }

  private hand(position: number, outcome: Outcome): void {
    const waiter = this.waiters.get(position);
    if (!waiter) return;
    this.waiters.delete(position);
    this.count(waiter, -1);
    // A position is taken once: after its outcome is handed over, nothing reads its record again, so a
    // long-running or widely fanned-out run holds the records of what is in flight, not of its history.
    this.run.journal.delete(position);
    this.settledCount++;
    this.run.tentative.outcomeHanded(position);
    waiter.timer?.cancel();
    if (outcome.ok) waiter.resolve(outcome.value);
    else waiter.reject(outcome.error);
  }

  /** Delivery order to write with the next journal write. */
  takeDeliveries(): DeliveryRecord[] {
    const taken = this.unsavedDeliveries;
    this.unsavedDeliveries = [];
    return taken;
  }
}
