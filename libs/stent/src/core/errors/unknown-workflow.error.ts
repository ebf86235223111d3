import { StentError } from './stent.error.js';

export class UnknownWorkflowError extends StentError {
  static override readonly code = 'STENT_UNKNOWN_WORKFLOW';
  static override readonly category = 'not_found' as const;

  constructor(readonly workflowName: string) {
    super(`No workflow named '${workflowName}' is registered`);
  }
}
