import { newStepId } from './step-record.js';
import { ActivityFailedError, JournalLimitError, NonDeterminismError, StentError } from '../errors/index.js';
import { decode, decodeError, encode } from '../serialization.js';
import type { NewStep, StepKind, StepRecord } from '../store/index.js';
import type { Outcome } from './turn-delivery.js';
import { SlotTable } from '../slot-table.js';
import type { WorkflowRun } from './workflow-run.js';

/** A promise that never settles: what user code sees once its run was abandoned (lease lost, suspended). */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

/**
 * The run's view of its journal: each durable call takes the next position at call time; a position
 * already recorded is answered from the journal (after checking the call is the one recorded there), a
 * new one is recorded.
 */
export class RunJournal {
  /** Records by position (a replay's, and outcomes not handed over yet); see SlotTable for why not a Map. */
  private readonly steps = new SlotTable<number, StepRecord>();
  private nextPosition = 0;

  constructor(
    private readonly run: WorkflowRun,
    recorded: StepRecord[],
  ) {
    for (const step of recorded) this.steps.set(step.position, step);
  }

  get(position: number): StepRecord | undefined {
    return this.steps.get(position);
  }

  set(step: StepRecord): void {
    this.steps.set(step.position, step);
  }

  delete(position: number): void {
    this.steps.delete(position);
  }

  /** Positions taken so far: the next durable call gets this one. */
  get taken(): number {
    return this.nextPosition;
  }

  /** The position of the next durable call. */
  take(): number {
    return this.nextPosition++;
  }

  /**
   * Takes the next position for a durable call with arguments. Returns the answer when there is one
   * already (recorded in the journal, arguments refused, run ended), else the position to record.
   */
  takeWithArgs(kind: StepKind, name: string, args: unknown[]): { answer: Promise<unknown> } | { position: number; encodedArgs: string } {
    if (this.run.ended) return { answer: never() };
    let encodedArgs: string;
    try {
      encodedArgs = encode(args, `${name}(args)`);
    } catch (error) {
      return { answer: Promise.reject(error) };
    }
    const position = this.take();
    const recorded = this.check(position, kind, name, encodedArgs);
    if (recorded === null) return { answer: never() };
    if (recorded) return { answer: this.answer(recorded) };
    return { position, encodedArgs };
  }

  /** The recorded step at `position`, undefined if none, null if the run was failed for non-determinism. */
  check(position: number, kind: StepKind, name: string, args: string | null = null): StepRecord | undefined | null {
    const recorded = this.steps.get(position);
    if (!recorded) return this.withinLimits(position) ? undefined : null;
    if (this.run.tentative.has(position)) return this.run.tentative.reuse(recorded, kind, name, args);
    if (recorded.kind !== kind || recorded.name !== name) {
      void this.run.lifecycle.failNonDeterministic(new NonDeterminismError(position, recorded.name, name));
      return null;
    }
    return recorded;
  }

  /**
   * Whether a new step may be recorded at `position`: past the warning threshold the first time it logs a
   * warning; at the hard limit the run fails with JournalLimitError (null for the caller, as after
   * non-determinism). Recorded positions are replayed whatever the limits are now.
   */
  private withinLimits(position: number): boolean {
    const { host } = this.run;
    if (position >= host.journalLimit) {
      void this.run.lifecycle.failOverLimit(new JournalLimitError(this.run.executionId, host.journalLimit));
      return false;
    }
    if (position === host.journalWarnAt) {
      host.logger.warn(
        `Execution ${this.run.executionId}: its journal has reached ${position} steps (the hard limit is ${host.journalLimit}); a workflow that loops for long should call Stent.continueAsNew`,
        this.run.logContext,
      );
    }
    return true;
  }

  /** What the workflow gets for a recorded call: its outcome in its turn, or a wait re-attached. */
  answer(step: StepRecord): Promise<unknown> {
    const { delivery } = this.run;
    if (step.state === 'completed' || step.state === 'failed') return delivery.wait(step.position, step.kind, null, undefined, step);
    if (step.state === 'cancelled') return never();
    if (step.kind === 'signal') {
      const waiting = delivery.wait(step.position, 'signal', step.fireAt, step.name);
      const overdue = step.fireAt !== null && step.fireAt <= this.run.host.clock.now();
      this.run.writer.enqueueWrite(() => this.run.takeSignal(step.position, step.name, overdue));
      return waiting;
    }
    return delivery.wait(step.position, step.kind, step.fireAt);
  }

  failureOf(step: StepRecord): Error {
    const cause = decodeError(step.error) ?? new StentError('unknown failure');
    if (step.kind === 'activity') return new ActivityFailedError(step.name, step.attempts, cause, step.position, this.run.executionId);
    return cause;
  }

  outcomeOf(step: StepRecord): Outcome {
    return step.state === 'completed' ? { ok: true, value: decode(step.result) } : { ok: false, error: this.failureOf(step) };
  }

  /** A step that is not an activity (a timer, a signal wait, a child, a recorded value or effect). */
  valueStep(position: number, kind: StepKind, name: string, state: 'completed' | 'waiting', result: string | null, fireAt: number | null): NewStep {
    const now = this.run.host.clock.now();
    const { execution } = this.run;
    return {
      id: newStepId(),
      executionId: this.run.executionId,
      position,
      kind,
      name,
      args: null,
      state,
      result,
      retryPolicy: null,
      timeoutMs: null,
      queue: execution.queue,
      priority: execution.priority,
      tags: [],
      maxConcurrent: null,
      availableAt: now,
      fireAt,
      createdAt: now,
      callTurn: this.run.delivery.turn,
    };
  }
}
