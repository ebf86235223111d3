import { StentError, WorkflowCancelledError, WorkflowTimedOutError } from '../errors/index.js';
import { Result, type ExecutionState } from '../api/result.js';
import { decode, decodeError } from '../serialization.js';

/**
 * What waitFor hands back for a final execution, from its stored result or error: a workflow's own
 * Result as it returned it, or a Result carrying the rebuilt error (never an exception).
 */
export function finalOutcome(executionId: string, state: ExecutionState, result: string | null, error: string | null): Result<unknown, unknown> {
  switch (state) {
    case 'completed': {
      const value = decode(result);
      return Result.withState(value instanceof Result ? value : Result.ok(value), 'completed');
    }
    case 'cancelled':
      return Result.withState(Result.error(decodeError(error) ?? new WorkflowCancelledError(executionId)), 'cancelled');
    case 'timed_out':
      return Result.withState(Result.error(decodeError(error) ?? new WorkflowTimedOutError(executionId, 0)), 'timed_out');
    default:
      return Result.withState(Result.error(decodeError(error) ?? new StentError('unknown failure')), 'failed');
  }
}
