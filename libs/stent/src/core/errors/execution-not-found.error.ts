import { StentError } from './stent.error.js';

export class ExecutionNotFoundError extends StentError {
  static override readonly code = 'STENT_EXECUTION_NOT_FOUND';
  static override readonly category = 'not_found' as const;

  constructor(readonly executionId: string) {
    super(`No execution with id '${executionId}'`);
  }
}
