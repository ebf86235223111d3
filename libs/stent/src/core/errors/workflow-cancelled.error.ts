import { StentError } from './stent.error.js';

export class WorkflowCancelledError extends StentError {
  static override readonly code = 'STENT_WORKFLOW_CANCELLED';
  static override readonly category = 'outcome' as const;

  constructor(readonly executionId: string) {
    super(`Execution '${executionId}' was cancelled`);
  }
}
