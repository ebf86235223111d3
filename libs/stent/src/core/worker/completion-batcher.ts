import { UnstorableValueError } from '../errors/index.js';
import { encodeError } from '../serialization.js';
import type { StepCompletion } from '../store/index.js';
import type { WorkflowRun } from '../run/workflow-run.js';
import type { RunningAttempt } from './activity-runner.js';
import type { Worker } from './worker.js';

/** Who waits for a completion's write: the attempt (its slot) and the run it belongs to, if held here. */
interface CompletionWaiter {
  run: WorkflowRun | undefined;
  attempt: RunningAttempt;
}

/**
 * Writes finished attempts in batches (everything that finished while the last batch was committing),
 * then frees their slots, hands outcomes to runs held here, and wakes the claim loop for retries when
 * their back-off ends.
 */
export class CompletionBatcher {
  private pending: StepCompletion[] = [];
  /**
   * By completion, not by step: a retried step can have two outcomes here at once, when the write of the
   * first (a retry) is slow to return and a claim round meanwhile takes the step again and its next attempt
   * ends. Keyed by step, the first write's return would take the second attempt's waiter with it.
   */
  private readonly waiters = new Map<StepCompletion, CompletionWaiter>();
  private flushing = false;

  constructor(private readonly worker: Worker) {}

  /** Nothing waits to be written and no batch is being written. */
  get idle(): boolean {
    return !this.flushing && this.pending.length === 0;
  }

  /** An attempt's outcome to write; `waiter` is told once it is written. */
  add(completion: StepCompletion, waiter: CompletionWaiter): void {
    this.waiters.set(completion, waiter);
    this.record([completion]);
  }

  /** Forgets outcomes not yet written (the worker halted: they die with it, as in a crash). */
  discard(): void {
    this.pending = [];
    this.waiters.clear();
  }

  /** Outcomes to write that nobody here waits for (results a run used before it ended). */
  record(completions: StepCompletion[]): void {
    if (completions.length === 0) return;
    this.pending.push(...completions);
    if (!this.flushing) {
      this.flushing = true;
      queueMicrotask(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    const { worker } = this;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        let results: Array<[StepCompletion, boolean]>;
        if (batch.some((completion) => this.outlivesOutcome(completion))) await worker.loop.roundDone;
        try {
          const owned = await worker.store.completeSteps(batch);
          results = batch.map((completion, i) => [completion, owned[i]!]);
        } catch (error) {
          results = batch.length > 1 ? await this.oneByOne(batch) : [await this.refused(batch[0]!, error)];
        }
        for (const [completion, stillOwned] of results) this.written(completion, stillOwned);
      }
    } finally {
      this.flushing = false;
      worker.changed();
    }
    worker.loop.poke();
  }

  /**
   * Whether the completion is the outcome of an attempt of a capped or keyed activity whose body still
   * runs. Claims count such a body against the cap or its key when they build their filter (see
   * claim-limits.ts), and the database counts the step until this outcome is written. A claim round whose filter was built before the outcome was
   * decided, and whose statement runs after it is written, would count it on neither side and could start
   * a body beyond the cap: the write waits for the round under way (rounds that start later count the body).
   */
  private outlivesOutcome(completion: StepCompletion): boolean {
    const attempt = this.waiters.get(completion)?.attempt;
    return attempt !== undefined && !attempt.bodyDone && (attempt.step.maxConcurrent !== null || attempt.step.concurrencyKey != null);
  }

  /**
   * A batch the database refused as a whole: each outcome is written on its own, so one that cannot be
   * stored does not fail the others written with it.
   */
  private async oneByOne(batch: StepCompletion[]): Promise<Array<[StepCompletion, boolean]>> {
    const results: Array<[StepCompletion, boolean]> = [];
    for (const completion of batch) {
      try {
        results.push([completion, (await this.worker.store.completeSteps([completion]))[0]!]);
      } catch (error) {
        results.push(await this.refused(completion, error));
      }
    }
    return results;
  }

  /**
   * One outcome the database refused. A result it cannot store (a value too large or malformed for it)
   * would be refused again on every attempt: the attempt fails for good instead, with that error, so
   * the workflow goes on (or fails) rather than running the activity over and over. Anything else (the
   * database out of reach) is left to the lease: the attempt runs again.
   */
  private async refused(completion: StepCompletion, error: unknown): Promise<[StepCompletion, boolean]> {
    const { worker } = this;
    if (completion.outcome.kind === 'completed' && error instanceof UnstorableValueError) {
      worker.logger.error(`Execution ${completion.executionId}: the result of step ${completion.fence.stepId} cannot be stored; the attempt fails`, error);
      const failed: StepCompletion = {
        ...completion,
        outcome: { kind: 'failed', error: encodeError(error), deadLetterReason: 'result cannot be stored' },
      };
      const waiter = this.waiters.get(completion);
      if (waiter) {
        this.waiters.delete(completion);
        this.waiters.set(failed, waiter);
      }
      try {
        return [failed, (await worker.store.completeSteps([failed]))[0]!];
      } catch (again) {
        error = again;
      }
    }
    worker.logger.error(`Worker ${worker.ownerId}: recording a finished attempt of execution ${completion.executionId} failed; its lease will expire and it will run again`, error);
    return [completion, false];
  }

  private written(completion: StepCompletion, stillOwned: boolean): void {
    const { worker } = this;
    const waiter = this.waiters.get(completion);
    this.waiters.delete(completion);
    if (!waiter) {
      // A result its run used and handed back when it ended: refused if the lease went meanwhile.
      if (!stillOwned) worker.resultsDropped(completion.executionId, [completion.fence.stepId], 'this worker no longer owns it');
      return;
    }
    const { attempt, run } = waiter;
    worker.runner.finished(attempt, completion.executionId);
    if (!stillOwned) {
      worker.logger.warn(`Step ${attempt.step.name} #${attempt.step.position} of execution ${completion.executionId}: this worker no longer owns it (lease expired and it was reclaimed); its outcome is dropped`, {
        executionId: completion.executionId,
        stepId: attempt.step.id,
        position: attempt.step.position,
        activity: attempt.step.name,
        attempt: attempt.step.attempts,
      });
      return;
    }
    const outcome = completion.outcome;
    if (outcome.kind === 'retry' || outcome.kind === 'parked') {
      const wait = outcome.availableAt - worker.clock.now();
      const again = () => worker.loop.activitiesMayWait();
      if (wait > 0) worker.clock.setTimer(wait + 5, again).unref();
      else again();
      return;
    }
    const current = run && !run.ended ? run : worker.runs.get(completion.executionId);
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
}
