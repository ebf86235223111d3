import { StentError } from './stent.error.js';

/** The request needs an execution in another state (a signal to a finished one, a retry of one not failed). */
export class ExecutionFinishedError extends StentError {
  static override readonly code = 'STENT_EXECUTION_FINISHED';
  static override readonly category = 'conflict' as const;

  constructor(
    readonly executionId: string,
    readonly state: string,
  ) {
    super(`Execution '${executionId}' is already ${state}`);
  }
}
