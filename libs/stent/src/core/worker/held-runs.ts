import { WorkflowRun } from '../run/workflow-run.js';
import type { ExecutionBirth } from '../run/execution-birth.js';
import type { ExecutionRecord, StepRecord } from '../store/index.js';
import type { Worker } from './worker.js';

/**
 * The workflow runs a worker holds in memory, by execution id: started from a claim (a fresh replay),
 * resumed from the suspended runs kept, or started at dispatch before their execution is inserted.
 */
export class HeldRuns {
  private readonly runs = new Map<string, WorkflowRun>();

  constructor(private readonly worker: Worker) {}

  /**
   * Starts a run of a claimed execution; with `birth`, of one this process dispatches that is not inserted
   * yet (its first write inserts it, see ExecutionBirth): it is reported started once it is in.
   */
  start(execution: ExecutionRecord, journal: StepRecord[], birth?: ExecutionBirth): void {
    const { worker } = this;
    const workflow = worker.registry.workflow(execution.workflowName);
    if (!workflow) return;
    this.runs.get(execution.id)?.abandon('claimed again');
    worker.suspended.drop(execution.id);
    const run = new WorkflowRun(worker, execution, journal, workflow);
    this.runs.set(execution.id, run);
    if (birth) run.writer.awaitBirth(birth);
    else this.born(run);
    run.start();
    // A workflow whose code awaits something else before its first durable call does not hold up its dispatch.
    if (birth) setImmediate(() => run.writer.ensureBorn());
  }

  /** The run's execution is in the database: it is reported started. */
  born(run: WorkflowRun): void {
    const { execution } = run;
    this.worker.events.emit('execution.started', {
      executionId: execution.id,
      workflowName: execution.workflowName,
      replay: run.replaying,
      traceContext: execution.traceContext,
      parentId: execution.parentId,
    });
  }

  /** Runs a kept suspended run again under the claim `execution` (see SuspendedRuns), with its changed rows. */
  resume(run: WorkflowRun, execution: ExecutionRecord, changed: StepRecord[]): void {
    const previous = this.runs.get(execution.id);
    if (previous && previous !== run) previous.abandon('claimed again');
    this.runs.set(execution.id, run);
    this.worker.events.emit('execution.started', {
      executionId: execution.id,
      workflowName: execution.workflowName,
      replay: false,
      resumed: true,
      traceContext: execution.traceContext,
      parentId: execution.parentId,
    });
    run.resume(execution, changed);
  }

  /** The run ended (its last write done): it is no longer held, unless a newer run of its execution took its place. */
  remove(run: WorkflowRun): void {
    if (this.runs.get(run.executionId) === run) this.runs.delete(run.executionId);
  }

  get(executionId: string): WorkflowRun | undefined {
    return this.runs.get(executionId);
  }

  get size(): number {
    return this.runs.size;
  }

  values(): IterableIterator<WorkflowRun> {
    return this.runs.values();
  }

  /** Ids of the executions held whose leases are renewed: one still being inserted has no lease yet. */
  leased(): string[] {
    const held: string[] = [];
    for (const [id, run] of this.runs) if (!run.writer.unborn) held.push(id);
    return held;
  }

  /** Activity steps of the runs held here that wait in the database for this worker's slots. */
  queuedHere(): number {
    let queued = 0;
    for (const run of this.runs.values()) queued += run.queuedHere;
    return queued;
  }

  /** Whether the execution runs here right now (in memory, not ended). */
  holds(executionId: string): boolean {
    const run = this.runs.get(executionId);
    return run !== undefined && !run.ended;
  }
}
