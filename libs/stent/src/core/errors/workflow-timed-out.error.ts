import { StentError } from './stent.error.js';

export class WorkflowTimedOutError extends StentError {
  static override readonly code = 'STENT_WORKFLOW_TIMED_OUT';
  static override readonly category = 'outcome' as const;

  constructor(
    readonly executionId: string,
    readonly maxDurationMs: number,
  ) {
    super(`Execution '${executionId}' exceeded its maxDuration of ${maxDurationMs} ms`);
  }
}
