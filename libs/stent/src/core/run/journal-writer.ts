import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { UnstorableValueError } from '../errors/index.js';
import { encodeError } from '../serialization.js';
import type { LocalCompletion, NewStep, StepCompletion, StepRecord } from '../store/index.js';
import { insertedRecord } from './step-record.js';
import type { ExecutionBirth } from './execution-birth.js';
import type { WorkflowRun } from './workflow-run.js';

/** At most this many new steps go in one journal write. */
const INSERT_PART = 1000;

/**
 * The run's database writes, one after another in call order. New steps are batched: every durable call
 * made in one synchronous stretch (a Promise.all over a map) goes in one insert. Results of activities that
 * ran in this worker, which the workflow already used, ride along with the next write (one commit for
 * both), or are written on their own once the workflow has moved on without one.
 */
export class JournalWriter {
  private pendingInserts: NewStep[] = [];
  private flushQueued = false;
  private writes: Promise<unknown> = Promise.resolve();
  /** Results this run already used, not yet written (see holdCompletion). */
  private pendingCompletions: LocalCompletion[] = [];
  /** Writes asked for and not yet done (see idle). */
  private inFlight = 0;
  /** A write that will take the held results is queued and has not taken them yet (see writeCompletionAfterTurn). */
  private completionsFlushQueued = false;
  /** A write of the delivery order is queued and has not run yet (see writeDeliveries). */
  private deliveriesQueued = false;
  /** The last part written of a wide fan-out left activities for claims to take (see insert). */
  private partLeftBacklog = false;
  /** The run's execution is not in the database yet (a dispatch run here): its insert goes with the first write. */
  private birth: ExecutionBirth | null = null;

  constructor(private readonly run: WorkflowRun) {}

  /** No write is pending or under way and no step or result waits to be written. */
  get idle(): boolean {
    return this.inFlight === 0 && !this.flushQueued && !this.deliveriesQueued && this.pendingInserts.length === 0 && this.pendingCompletions.length === 0 && !(this.birth !== null && !this.birth.taken);
  }

  /** The run's execution is not known to be in the database yet (see ExecutionBirth). */
  get unborn(): boolean {
    return this.birth !== null && !this.birth.settled;
  }

  /** Settles once every write asked for so far is done (the execution's insert included). */
  settled(): Promise<unknown> {
    this.ensureBorn();
    return this.writes;
  }

  /** The run starts before its execution is inserted: the first write carries the insert (see ExecutionBirth). */
  awaitBirth(birth: ExecutionBirth): void {
    this.birth = birth;
  }

  /** Asks for the execution's insert now, on its own, unless a write has taken it already. */
  ensureBorn(): void {
    if (this.birth && !this.birth.taken) this.enqueueWrite(async () => undefined);
  }

  /** Settles once the execution's insert is done, asking for it if no write has yet. */
  async born(): Promise<void> {
    if (!this.birth) return;
    this.ensureBorn();
    await this.birth.outcome.catch(() => undefined);
  }

  /** Takes the execution's insert for a write of `steps` that can carry it: the run's first write, of plain steps. */
  private birthFor(steps: NewStep[]): ExecutionBirth | null {
    const { birth } = this;
    if (!birth || birth.taken || this.inFlight > 0 || steps.some((step) => step.child || step.effect)) return null;
    birth.taken = true;
    return birth;
  }

  enqueueInsert(step: NewStep): void {
    this.pendingInserts.push(step);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Every durable call made in the same synchronous stretch (Promise.all over a map) lands in one batch.
    queueMicrotask(() => this.flushInserts());
  }

  flushInserts(): void {
    this.flushQueued = false;
    if (this.pendingInserts.length === 0) return;
    const batch = this.pendingInserts;
    this.pendingInserts = [];
    // A wide fan-out is written in parts, one after another: the first part's activities start while the
    // rest is still being written, and each part's steps are let go of once written. Nothing depends on
    // the calls of one stretch sharing a transaction: each position is answered from the journal or made
    // again, and a replay after a crash between parts finds the positions written so far.
    // Each later part waits a macrotask first: with a synchronous driver (better-sqlite3) the parts would
    // otherwise run back to back in one stretch of microtasks, so no turn could hand over the results of the
    // activities started meanwhile (they piled up, 100 a part, for the whole write), and the event loop was
    // held for the whole write (1.7 s for 20,000 steps) with no timer, heartbeat or I/O served.
    for (let start = 0; start < batch.length; start += INSERT_PART) {
      const part = batch.length <= INSERT_PART ? batch : batch.slice(start, start + INSERT_PART);
      const birth = start === 0 ? this.birthFor(part) : null;
      this.enqueueWrite(start === 0 ? () => this.insert(part, false, birth) : () => nextMacrotask().then(() => this.insert(part, true)), true, birth !== null);
    }
  }

  private async insert(batch: NewStep[], laterPart = false, birth: ExecutionBirth | null = null): Promise<void> {
    const { run } = this;
    const { host } = run;
    run.firstStart = false;
    // Ended before its first write: the execution still goes in (unclaimed), for the dispatch waiting on it.
    if (birth && run.ended) return void (await birth.alone(run));
    if (run.ended) return;
    // Taken first: a keyed step may take the slot of a result written with it (see LocalDispatch.reserveLocal).
    const completions = this.takeCompletions();
    // A later part of a fan-out whose earlier parts left activities to claims claims none at insert: slots
    // it reserved would stand idle for the whole write (a round trip of a thousand rows, long on a busy
    // PostgreSQL) while the steps already written wait for them, and its own calls would start before
    // earlier ones. Claims fill the slots from the written steps meanwhile.
    const local = laterPart && this.partLeftBacklog ? [] : host.reserveLocal(batch, completions);
    let leftToClaims = false;
    for (const step of batch) {
      if (!step.claimedBy && host.couldRunHere(step)) {
        run.queued.add(step.position);
        leftToClaims = true;
      }
    }
    this.partLeftBacklog = leftToClaims;
    let ok: boolean;
    try {
      ok = birth ? await birth.withSteps(run, batch) : await host.store.insertSteps(run.fence, batch, run.delivery.takeDeliveries(), completions);
    } catch (error) {
      host.cancelReservations(local);
      // Not written: handed back, so the run's end records them the ordinary way.
      this.pendingCompletions.unshift(...completions);
      throw error;
    }
    if (!ok) {
      host.cancelReservations(local);
      void this.handBack(completions);
      run.lifecycle.abandon('lease lost while recording steps');
      return;
    }
    host.completionsWritten(completions);
    // An activity's record is not kept: nothing reads it before its outcome arrives with a record of its
    // own, so a wide fan-out holds its waits, not a copy of every step it recorded.
    for (const step of batch) if (step.kind !== 'activity') run.journal.set(insertedRecord(step));
    host.startReserved(run, local);
    if (local.length < batch.filter((s) => s.kind === 'activity').length) host.announceWork();
  }

  /**
   * Runs database writes of this run one after another, in call order. Results the workflow already used
   * go first (an insert carries them in its own statement).
   */
  enqueueWrite(write: () => Promise<unknown>, carriesCompletions = false, carriesBirth = false): void {
    const { run } = this;
    // A write that cannot carry the execution's insert waits for it, made on its own first.
    let birth: ExecutionBirth | null = null;
    if (!carriesBirth && this.birth && !this.birth.taken) {
      birth = this.birth;
      birth.taken = true;
    }
    this.inFlight++;
    // One link per write, its failure handled inside it (a .catch and a .finally were four more promises
    // per write). The chain never rejects, so the previous link only says when this one may start.
    this.writes = this.writes.then(async () => {
      try {
        if (birth) await birth.alone(run);
        if (!carriesCompletions) await this.writePendingCompletions();
        if (!run.ended || carriesBirth) await write();
      } catch (error) {
        if (error instanceof UnstorableValueError) {
          // Replaying would write the same thing and be refused again: the execution fails with the reason.
          // Not awaited: finishing waits for this chain of writes, which this handler ends.
          run.host.logger.error(`Execution ${run.executionId}: ${error.message}; the execution fails`, run.logContext);
          void run.lifecycle.finish('failed', null, encodeError(error));
          return;
        }
        run.host.logger.error(`Execution ${run.executionId}: a journal write failed; the run is abandoned and will be replayed`, error, run.logContext);
        run.lifecycle.abandon('journal write failed');
      } finally {
        this.inFlight--;
      }
    });
  }

  /**
   * Writes the delivery order held so far in a write of its own, with the results held (one transaction:
   * an order is never written ahead of a result it names). A macrotask later, once the turn's continuations
   * have run: a workflow that finished (it waits on nothing) drops its order with its end instead.
   */
  writeDeliveries(): void {
    if (this.deliveriesQueued) return;
    this.deliveriesQueued = true;
    setImmediate(() => {
      const { run } = this;
      if (run.ended || run.delivery.waitCount === 0) {
        this.deliveriesQueued = false;
        return;
      }
      this.enqueueWrite(async () => {
        this.deliveriesQueued = false;
        const completions = this.takeCompletions();
        let ok: boolean;
        try {
          ok = await run.host.store.insertSteps(run.fence, [], run.delivery.takeDeliveries(), completions);
        } catch (error) {
          this.pendingCompletions.unshift(...completions);
          throw error;
        }
        if (!ok) {
          void this.handBack(completions);
          run.lifecycle.abandon('lease lost while recording the delivery order');
        } else {
          run.host.completionsWritten(completions);
        }
      }, true);
    });
  }

  /** Writes what no other write carries yet (results the workflow already used). */
  flushCompletions(): void {
    this.completionsFlushQueued = true;
    this.enqueueWrite(async () => undefined);
  }

  /** A result the workflow already has: written with the next write (see writeCompletionAfterTurn). */
  holdCompletion(completion: LocalCompletion): void {
    this.pendingCompletions.push(completion);
  }

  /**
   * Writes a held result on its own if no write has carried it by the end of the turn that hands it over.
   * Only this result: with SQLite a whole step can pass within one turn, and the next step's held result,
   * which its own turn may still carry, is not this one's to write.
   */
  writeCompletionAfterTurn(completion: LocalCompletion): void {
    // Called after the result's turn is scheduled: by the time this runs its continuation has asked for any write.
    // One queued write takes every result held when it runs: with one queued per result, a fan-out's
    // results (a hundred a turn) queued as many empty writes behind a round trip, each with its promises.
    setImmediate(() => {
      if (!this.completionsFlushQueued && !this.run.ended && this.pendingCompletions.includes(completion)) this.flushCompletions();
    });
  }

  asCompletion(c: LocalCompletion, wakeExecution = true): StepCompletion {
    return { fence: c.fence, executionId: this.run.executionId, outcome: { kind: 'completed', result: c.result }, finishedAt: c.finishedAt, wakeExecution };
  }

  /**
   * Results a write carried that was refused (the run's lease is gone). The write may still have recorded
   * them (each is fenced by its own step's lease); the others go to the worker's batcher, which records
   * those whose step lease still holds and logs the rest as dropped.
   */
  async handBack(completions: LocalCompletion[]): Promise<void> {
    if (completions.length === 0) return;
    const { host, executionId } = this.run;
    let left = completions;
    try {
      const steps = new Map((await host.store.loadJournal(executionId)).map((step) => [step.id, step]));
      left = completions.filter((c) => {
        const step = steps.get(c.fence.stepId);
        return !(step && step.state === 'completed' && step.result === c.result);
      });
    } catch {
      // Unknown: the batcher finds out (a result recorded meanwhile is then reported as dropped).
    }
    host.recordCompletions(left.map((c) => this.asCompletion(c)));
  }

  takeCompletions(): LocalCompletion[] {
    this.completionsFlushQueued = false;
    const taken = this.pendingCompletions;
    this.pendingCompletions = [];
    return taken;
  }

  /** Writes results the workflow already used that no other write has carried yet. */
  async writePendingCompletions(): Promise<void> {
    const completions = this.takeCompletions();
    if (completions.length === 0) return;
    const { host } = this.run;
    const written = completions.map((c) => this.asCompletion(c, false));
    // Slots of keyed steps still held for hand-on go with the write to the next steps of their keys.
    const handOff = host.reserveHandOff(completions);
    let owned: boolean[];
    if (!handOff) {
      owned = await host.store.completeSteps(written);
    } else {
      let started: StepRecord[] = [];
      try {
        ({ owned, started } = await host.store.completeHandingOff(written, handOff));
      } finally {
        host.handedOff(handOff, started);
      }
    }
    host.completionsWritten(completions);
    if (owned.some((ok) => !ok)) {
      const lost = completions.filter((_, i) => !owned[i]).map((c) => c.fence.stepId);
      this.run.host.resultsDropped(this.run.executionId, lost, 'lease lost while recording a result');
      this.run.lifecycle.abandon('lease lost while recording a result');
    }
  }
}
