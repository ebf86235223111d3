import type { Timer } from '../clock/clock.js';
import { JournalLimitError, NonDeterminismError, WorkflowTimedOutError } from '../errors/index.js';
import type { NewExecution, StepRecord } from '../store/index.js';
import { encodeError } from '../serialization.js';
import type { WorkflowRun } from './workflow-run.js';

/**
 * How a run held in memory stops: it finishes (completed, failed, timed out), is suspended while it waits
 * (idle past a threshold), fails for non-determinism, or is abandoned (lease lost, write failed, worker
 * stopping) without writing anything, the database deciding who runs it next.
 */
export class RunLifecycle {
  private status: 'running' | 'ended' = 'running';
  private idleTimer: Timer | undefined;
  /** The idle timer is the suspension wait's (kept across re-arms: see armIdleTimer), firing at idleTimerAt. */
  private idleTimerSuspends = false;
  private idleTimerAt = 0;
  /** When the run, idle since its last re-arm, is to be suspended (Infinity: it is not waiting). */
  private suspendAt = Infinity;
  private deadlineTimer: Timer | undefined;
  /** Writes of the run's end (finish, suspension, a recorded failure) sent and not yet answered. */
  private endWrites = 0;

  constructor(private readonly run: WorkflowRun) {}

  get ended(): boolean {
    return this.status === 'ended';
  }

  /**
   * Ended, and what records the end is no longer in flight. The run stops as the write is sent (nothing it
   * does may change after), but until the database answers, a reader still finds the execution running.
   */
  get endRecorded(): boolean {
    return this.ended && this.endWrites === 0;
  }

  private async writingEnd<T>(write: () => Promise<T>): Promise<T> {
    this.endWrites++;
    try {
      return await write();
    } finally {
      this.endWrites--;
    }
  }

  /** Arms maxDuration; false if the deadline has passed already (the run is timing out). */
  armDeadline(): boolean {
    const { execution, host } = this.run;
    const deadline = execution.deadlineAt;
    if (deadline === null) return true;
    const remaining = deadline - host.clock.now();
    if (remaining <= 0) {
      void this.timeOut();
      return false;
    }
    this.deadlineTimer = host.clock.setTimer(remaining, () => void this.timeOut());
    return true;
  }

  /**
   * Starts over the wait after which an idle run is suspended (or a stuck replay declared diverged).
   * Every turn of a run starts the wait over, so the suspension timer is not cancelled and set again each
   * time (two timer-list changes per step): one that fires no later than the new time is kept, and when it
   * fires early it waits the rest.
   */
  armIdleTimer(): void {
    const { delivery, host } = this.run;
    if (this.ended || delivery.waitCount === 0) {
      // Nothing to wait on while the workflow's code runs: a kept timer that fires meanwhile does nothing.
      this.suspendAt = Infinity;
      if (!this.idleTimerSuspends) this.cancelIdleTimer();
      return;
    }
    if (delivery.replayStuckSince !== undefined) {
      this.cancelIdleTimer();
      const left = delivery.replayStuckSince + Math.max(1_000, host.suspendAfterMs) - host.clock.now();
      this.idleTimer = host.clock.setTimer(Math.max(0, left), () => this.replayDiverged());
      return;
    }
    // Waiting on timers, signals or children is what suspension is for. A run waiting on activity work
    // (queued behind other work, or running elsewhere) is usually moments from going on, and replaying it
    // would cost more than holding it, so it is kept far longer before it is let go.
    if (host.draining) {
      this.cancelIdleTimer();
      // Handed back as soon as it waits; on the next pass of the event loop, so a run whose turn is still
      // being delivered (suspend() re-arms this) does not spin in microtasks.
      const handle = setImmediate(() => void this.suspend());
      this.idleTimer = { cancel: () => clearImmediate(handle), unref: () => undefined };
      return;
    }
    const after = delivery.waitsOnActivity ? Math.max(30_000, host.suspendAfterMs) : host.suspendAfterMs;
    this.suspendAt = host.clock.now() + after;
    // With no wait at all (suspendAfter 0) the run is let go a macrotask after its last turn, not its first.
    if (after > 0 && this.idleTimerSuspends && this.idleTimerAt <= this.suspendAt) return;
    this.cancelIdleTimer();
    this.setSuspendTimer(after);
  }

  private setSuspendTimer(ms: number): void {
    this.idleTimerSuspends = true;
    this.idleTimerAt = this.run.host.clock.now() + ms;
    this.idleTimer = this.run.host.clock.setTimer(ms, () => {
      this.idleTimer = undefined;
      this.idleTimerSuspends = false;
      if (this.ended || this.suspendAt === Infinity) return;
      const left = this.suspendAt - this.run.host.clock.now();
      if (left > 0) this.setSuspendTimer(left);
      else void this.suspend();
    });
  }

  private cancelIdleTimer(): void {
    this.idleTimer?.cancel();
    this.idleTimer = undefined;
    this.idleTimerSuspends = false;
  }

  clearTimers(): void {
    this.cancelIdleTimer();
    this.deadlineTimer?.cancel();
    this.run.delivery.cancelTimers();
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
    const { run } = this;
    // A dispatch run here that wrote nothing yet: its execution still goes in, unclaimed, for claims to run.
    run.writer.ensureBorn();
    run.delivery.clear();
    // Results the workflow used but never recorded: still worth recording (each is fenced by its own lease).
    run.host.recordCompletions(run.writer.takeCompletions().map((c) => run.writer.asCompletion(c)));
    run.host.runEnded(run, { kind: 'abandoned', reason });
  }

  /** Releases a waiting run: it holds no memory and is replayed when what it waits for happens. */
  async suspend(): Promise<void> {
    const { run } = this;
    const { delivery, writer, host } = run;
    if (this.ended || delivery.waitCount === 0) return;
    // Record everything the workflow has asked for so far before letting go of it.
    const progress = delivery.settledCount;
    writer.flushInserts();
    writer.flushCompletions();
    await writer.settled();
    if (this.ended || delivery.waitCount === 0) return;
    if (delivery.settledCount !== progress || delivery.busy) {
      this.armIdleTimer();
      return;
    }
    const waiters = delivery.waiting();
    const positions = waiters.map((waiter) => waiter.position);
    const signals = [...new Set(waiters.flatMap((waiter) => (waiter.signal ? [waiter.signal] : [])))];
    let wakeAt: number | null = run.execution.deadlineAt;
    for (const waiter of waiters) {
      if (waiter.fireAt !== null && (wakeAt === null || waiter.fireAt < wakeAt)) wakeAt = waiter.fireAt;
    }
    const resumable = run.resumable;
    this.end();
    // A run that may be resumed keeps its waits (the workflow's pending calls); see SuspendedRuns.
    if (!resumable) delivery.clear();
    try {
      const ok = await this.writingEnd(() => host.store.suspendExecution(run.fence, wakeAt, positions, signals, host.clock.now(), delivery.takeDeliveries()));
      if (!ok) delivery.clear();
      host.runEnded(run, ok ? { kind: 'suspended', wakeAt, resumable } : { kind: 'abandoned', reason: 'lease lost before suspending' });
    } catch (error) {
      delivery.clear();
      host.logger.error(`Execution ${run.executionId}: suspending failed; it will be recovered when its lease expires`, error, run.logContext);
      host.runEnded(run, { kind: 'abandoned', reason: 'suspend failed' });
    }
  }

  /** A suspended run kept in memory runs again under a new claim (see WorkflowRun.resume). */
  reopen(): boolean {
    this.status = 'running';
    return this.armDeadline();
  }

  async finish(state: 'completed' | 'failed' | 'timed_out', result: string | null, error: string | null, continueAs?: NewExecution): Promise<void> {
    const { run } = this;
    const { delivery, writer, host } = run;
    if (this.ended) return;
    // Its execution must be in the database before its end is written.
    if (state === 'timed_out') await writer.born();
    if (this.ended) return;
    if (state !== 'timed_out') {
      // Wait until every step the workflow recorded is in the journal before closing the execution.
      this.clearTimers();
      writer.flushInserts();
      await writer.settled();
      if (this.ended) return;
    }
    const leftovers = delivery.waitCount > 0;
    if (!this.end()) return;
    delivery.clear();
    const completions = writer.takeCompletions();
    // Slots of keyed steps whose results the ending records go with it to the next steps of their keys.
    const handOff = host.reserveHandOff(completions);
    let started: StepRecord[] = [];
    try {
      // A completed execution is never replayed: the order of its deliveries no longer matters.
      const options = {
        hasParent: run.execution.parentId !== null,
        leftovers,
        deliveries: state === 'completed' ? [] : delivery.takeDeliveries(),
        discard: run.tentative.remaining(),
        completions,
        continueAs,
        freesFlowSlot: run.holdsFlowSlot,
      };
      const ok = await this.writingEnd(async () => {
        if (!handOff) return host.store.finishExecution(run.fence, state, result, error, host.clock.now(), options);
        try {
          const ended = await host.store.finishHandingOff(run.fence, state, result, error, host.clock.now(), options, handOff);
          started = ended.started;
          return ended.ok;
        } finally {
          host.handedOff(handOff, started);
        }
      });
      if (!ok) void writer.handBack(completions);
      else host.completionsWritten(completions);
      host.runEnded(run, ok ? { kind: 'finished', state, result, error } : { kind: 'abandoned', reason: 'lease lost before the result was recorded' });
    } catch (failure) {
      host.logger.error(`Execution ${run.executionId}: recording its ${state} state failed; it will be replayed`, failure, run.logContext);
      host.recordCompletions(completions.map((c) => writer.asCompletion(c)));
      host.runEnded(run, { kind: 'abandoned', reason: 'finish failed' });
    }
  }

  private async timeOut(): Promise<void> {
    const { execution, executionId } = this.run;
    const limit = execution.maxDurationMs ?? (execution.deadlineAt ?? 0) - execution.createdAt;
    await this.finish('timed_out', null, encodeError(new WorkflowTimedOutError(executionId, limit)));
  }

  /** A replay waited too long for calls its next recorded turn needs: the workflow took another path. */
  private replayDiverged(): void {
    const { delivery, journal } = this.run;
    const next = delivery.nextRecordedTurn;
    if (this.ended || !next) return;
    const missing = next.positions.find((position) => !delivery.waiterAt(position)?.recorded) ?? next.positions[0]!;
    const step = journal.get(missing);
    void this.failNonDeterministic(new NonDeterminismError(missing, step?.name ?? '?', '(nothing: the replay did not reach this call before its result was due)'));
  }

  /**
   * The journal reached its hard limit: the run ends at once (nothing more is recorded) and the execution
   * fails with `error` once what was recorded before is written.
   */
  async failOverLimit(error: JournalLimitError): Promise<void> {
    const { run } = this;
    const { delivery, writer, host } = run;
    if (!this.end()) return;
    delivery.clear();
    host.logger.error(`Execution ${run.executionId}: ${error.message}`, run.logContext);
    try {
      await writer.settled();
      const encoded = encodeError(error);
      const completions = writer.takeCompletions();
      const ok = await this.writingEnd(() =>
        host.store.finishExecution(run.fence, 'failed', null, encoded, host.clock.now(), {
          hasParent: run.execution.parentId !== null,
          deliveries: delivery.takeDeliveries(),
          discard: run.tentative.remaining(),
          completions,
        }),
      );
      if (!ok) void writer.handBack(completions);
      else host.completionsWritten(completions);
      host.runEnded(run, ok ? { kind: 'finished', state: 'failed', result: null, error: encoded } : { kind: 'abandoned', reason: 'lease lost' });
    } catch (failure) {
      host.logger.error(`Execution ${run.executionId}: recording the journal-limit failure failed`, failure, run.logContext);
      host.runEnded(run, { kind: 'abandoned', reason: 'journal-limit record failed' });
    }
  }

  async failNonDeterministic(error: NonDeterminismError): Promise<void> {
    if (!this.end()) return;
    const { run } = this;
    const { delivery, writer, host } = run;
    delivery.clear();
    host.logger.error(`Execution ${run.executionId}: ${error.message}`, run.logContext);
    try {
      await writer.settled();
      await writer.writePendingCompletions();
      const encoded = encodeError(error);
      const ok = await this.writingEnd(() => host.store.failExecutionDeadLettered(run.fence, encoded, 'non-determinism', host.clock.now(), delivery.takeDeliveries()));
      host.runEnded(run, ok ? { kind: 'finished', state: 'failed', result: null, error: encoded, deadLettered: 'non-determinism' } : { kind: 'abandoned', reason: 'lease lost' });
    } catch (failure) {
      host.logger.error(`Execution ${run.executionId}: recording the non-determinism failure failed`, failure, run.logContext);
      host.runEnded(run, { kind: 'abandoned', reason: 'non-determinism record failed' });
    }
  }
}
