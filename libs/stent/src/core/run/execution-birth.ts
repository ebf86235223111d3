import type { NewExecution, NewStep } from '../store/index.js';
import type { WorkflowRun } from './workflow-run.js';

/** What a dispatch resolves to: the execution's id (another's, when its idempotency key was taken) and how it went in. */
export interface DispatchOutcome {
  id: string;
  created: boolean;
  claimed: boolean;
}

/**
 * An execution dispatched to this process's worker whose run starts before the execution is in the
 * database, so that the execution goes in with the steps its workflow records first: one commit where a
 * dispatch and its first step took two. Only workflow code runs before that commit (no activity starts
 * before its step is written), and workflow code may run again at any replay, so nothing is done twice
 * that may not be. `outcome` settles once the execution is durable (or its insert failed): that is when
 * `dispatch` resolves. The run's journal writer decides which write carries the insert (see JournalWriter).
 */
export class ExecutionBirth {
  readonly outcome: Promise<DispatchOutcome>;
  /** A write has taken the insert (with steps or alone). */
  taken = false;
  /** The insert is done (or failed): the run's rows exist, or the run was dropped. */
  settled = false;
  private resolve!: (outcome: DispatchOutcome) => void;
  private reject!: (error: unknown) => void;

  constructor(readonly execution: NewExecution) {
    this.outcome = new Promise<DispatchOutcome>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /**
   * Inserts the execution with the run's first steps (plain ones, see HotPathStore.createExecutionWithSteps).
   * True if the steps went in claimed by this worker's run; false if the run was dropped.
   */
  async withSteps(run: WorkflowRun, steps: NewStep[]): Promise<boolean> {
    let outcome: DispatchOutcome;
    try {
      outcome = await run.host.store.createExecutionWithSteps(this.execution, steps);
    } catch {
      // Refused together (a value the database will not store, a lost connection): the execution goes in
      // alone and the steps the ordinary way, so that what follows is what a separate insert would have
      // given (an unstorable step fails the execution instead of the dispatch).
      if (!(await this.alone(run))) return false;
      return run.host.store.insertSteps(run.fence, steps);
    }
    this.born(run, outcome);
    return outcome.claimed;
  }

  /**
   * Inserts the execution on its own: the run's first write is something else (or nothing came within a
   * turn), or the run ended before writing (then unclaimed, for another claim). True if it went in claimed
   * by this run and the run goes on.
   */
  async alone(run: WorkflowRun): Promise<boolean> {
    const execution = run.ended ? { ...this.execution, claimedBy: undefined } : this.execution;
    let outcome: DispatchOutcome;
    try {
      outcome = await run.host.store.createExecutionWithSteps(execution, []);
    } catch (error) {
      this.settled = true;
      this.reject(error);
      run.lifecycle.abandon('dispatch failed');
      return false;
    }
    this.born(run, outcome);
    return outcome.claimed && !run.ended;
  }

  private born(run: WorkflowRun, outcome: DispatchOutcome): void {
    this.settled = true;
    this.resolve(outcome);
    // Not claimed: work waits before it on its queue, its queue or workflow is paused, or its idempotency
    // key was taken. Claims decide; this run, which has written nothing, is dropped.
    if (!outcome.claimed) run.lifecycle.abandon('dispatch left to claims');
    else if (run.ended) void run.host.store.releaseExecution(run.fence, run.host.clock.now()).catch(() => undefined);
    else run.host.runBorn(run);
  }
}
