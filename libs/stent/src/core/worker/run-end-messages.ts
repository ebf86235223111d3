import { ActivityFailedError, ExecutionFinishedError, WorkflowCancelledError, WorkflowTimedOutError } from '../errors/index.js';
import { decodeError } from '../serialization.js';
import type { ExecutionRecord } from '../store/index.js';

/** One line for the log: which execution of which workflow failed, at which step, and why. */
export function failureMessage(executionId: string, workflowName: string, encoded: string | null): string {
  const error = decodeError(encoded);
  const step = error instanceof ActivityFailedError ? ` at step '${error.activityName}'` : '';
  return `Execution ${executionId} of workflow ${workflowName} failed${step}: ${error ? `${error.name}: ${error.message}` : 'no error recorded'}`;
}

/** Why an activity's AbortSignal fires when its execution ended under it. */
export function endedError(record: ExecutionRecord): Error {
  if (record.state === 'timed_out') return new WorkflowTimedOutError(record.id, record.maxDurationMs ?? 0);
  if (record.state === 'cancelled') return new WorkflowCancelledError(record.id);
  return new ExecutionFinishedError(record.id, record.state);
}
