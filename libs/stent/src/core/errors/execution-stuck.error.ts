import { StentError } from './stent.error.js';

/**
 * runToCompletion found an execution that nothing scheduled will move on: it waits for something only
 * the test can give (a signal without a time-out, a step on a queue no worker here serves).
 */
export class ExecutionStuckError extends StentError {
  static override readonly code = 'STENT_EXECUTION_STUCK';
  static override readonly category = 'conflict' as const;

  constructor(
    readonly executionId: string,
    /** The steps it waits on, as `kind name (state)`. */
    readonly waitingOn: string[],
  ) {
    super(`Execution '${executionId}' waits for something no passing of time brings${waitingOn.length ? `: ${waitingOn.join(', ')}` : ''}`);
  }
}
