import { StentError } from './stent.error.js';

/**
 * dispatch({ idempotencyKey }) named a key an execution of another workflow holds: keys are scoped per
 * workflow, and returning that execution would answer a different request.
 */
export class IdempotencyConflictError extends StentError {
  static override readonly code = 'STENT_IDEMPOTENCY_CONFLICT';
  static override readonly category = 'conflict' as const;

  constructor(
    readonly idempotencyKey: string,
    /** The execution holding the key. */
    readonly executionId: string,
    readonly existingWorkflow: string,
    readonly requestedWorkflow: string,
  ) {
    super(`Idempotency key '${idempotencyKey}' belongs to execution '${executionId}' of workflow '${existingWorkflow}', not '${requestedWorkflow}'`);
  }
}
