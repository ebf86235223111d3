import { finalOutcome } from '../executor/final-outcome.js';
import type { RunEnd } from '../run/run-host.js';
import type { WorkflowRun } from '../run/workflow-run.js';
import { decodeError } from '../serialization.js';
import { failureMessage } from './run-end-messages.js';
import type { Worker } from './worker.js';

/** Reasons a run is dropped that say nothing went wrong: the worker stopping, the run taken elsewhere, a dispatch left to claims (or failed: its caller hears why). */
const EXPECTED_DROPS = new Set(['worker shutting down', 'worker stopped', 'worker halted', 'claimed again', 'execution ended elsewhere', 'dispatch left to claims', 'dispatch failed']);

/**
 * What follows a run leaving the worker: the events its end means (finished, dead-lettered, suspended),
 * keeping a resumable suspended run, the log line for a failure or an unexpected drop, and handing back
 * the lease of a run dropped while perhaps still owned.
 */
export function reportRunEnd(worker: Worker, run: WorkflowRun, end: RunEnd): void {
  const { events, logger } = worker;
  const { executionId } = run;
  const workflowName = run.execution.workflowName;
  if (end.kind === 'finished') {
    if (end.deadLettered !== undefined && events.listenerCount('execution.dead_lettered') > 0) {
      const error = decodeError(end.error);
      events.emit('execution.dead_lettered', { executionId, workflowName, reason: end.deadLettered, error: error instanceof Error ? error : new Error(String(error)) });
    }
    // Decoded only for listeners (waitFor is one): most runs end with nobody listening in this process.
    const result = events.listenerCount('execution.finished') > 0 ? finalOutcome(executionId, end.state, end.result, end.error) : undefined;
    events.emit('execution.finished', { executionId, workflowName, state: end.state, result });
    if (end.state === 'failed') logger.warn(failureMessage(executionId, workflowName, end.error), { executionId, workflow: workflowName });
  } else if (end.kind === 'suspended') {
    if (end.resumable && worker.state === 'running') worker.suspended.keep(run);
    else run.forget();
    events.emit('execution.suspended', { executionId, wakeAt: end.wakeAt });
  } else if (!EXPECTED_DROPS.has(end.reason)) {
    logger.warn(`Execution ${executionId}: run dropped from this worker (${end.reason})`, { executionId, workflow: workflowName });
    // Dropped while (perhaps) still owned, say after a failed write: let it be claimed and replayed now
    // rather than when the lease runs out. The release is fenced: a lease already lost is left alone.
    if (!end.reason.startsWith('lease lost')) void worker.store.releaseExecution(run.fence, worker.clock.now()).catch(() => undefined);
  }
}
