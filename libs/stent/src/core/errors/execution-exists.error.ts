import { ConfigurationError } from './configuration.error.js';

/** dispatch({ executionId }) named an id another execution already has. */
export class ExecutionExistsError extends ConfigurationError {
  static override readonly code = 'STENT_EXECUTION_EXISTS';
  static override readonly category = 'conflict' as const;

  constructor(readonly executionId: string) {
    super(`An execution with id '${executionId}' already exists`);
  }
}
