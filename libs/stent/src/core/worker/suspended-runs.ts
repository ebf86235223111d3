import type { ExecutionRecord } from '../store/index.js';
import type { WorkflowRun } from '../run/workflow-run.js';

/**
 * Runs this worker suspended recently, kept in memory (least recently suspended dropped first) so that when
 * this worker claims one again it resumes it where it stopped instead of replaying its whole journal: a
 * wake then costs what changed, not the journal's length. A kept run is used only when the claim proves
 * nobody else ran the execution in between: a claim bumps the lease epoch, so the epoch must be exactly
 * one past the one the run suspended with (and the caller checks that no step was recorded after the
 * run's last position).
 */
export class SuspendedRuns {
  private readonly runs = new Map<string, WorkflowRun>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.runs.size;
  }

  keep(run: WorkflowRun): void {
    this.runs.delete(run.executionId);
    if (this.capacity <= 0) {
      run.forget();
      return;
    }
    this.runs.set(run.executionId, run);
    while (this.runs.size > this.capacity) {
      const [oldest] = this.runs.keys();
      this.drop(oldest!);
    }
  }

  /** The kept run for a claimed execution when it may resume it, else undefined (and it is forgotten). */
  take(execution: ExecutionRecord): WorkflowRun | undefined {
    const run = this.runs.get(execution.id);
    if (!run) return undefined;
    this.runs.delete(execution.id);
    const untouched =
      execution.leaseEpoch === run.fence.epoch + 1 &&
      execution.state === 'running' &&
      execution.revivePosition === null &&
      execution.recoveries === run.execution.recoveries &&
      execution.workflowName === run.execution.workflowName;
    if (untouched) return run;
    run.forget();
    return undefined;
  }

  drop(executionId: string): void {
    const run = this.runs.get(executionId);
    if (!run) return;
    this.runs.delete(executionId);
    run.forget();
  }

  clear(): void {
    for (const run of this.runs.values()) run.forget();
    this.runs.clear();
  }
}
