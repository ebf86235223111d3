import { StentError } from './stent.error.js';

/** dispatch({ singleton: { key, onConflict: 'refuse' } }) while an execution of that workflow and key is still going on. */
export class SingletonConflictError extends StentError {
  static override readonly code = 'STENT_SINGLETON_CONFLICT';
  static override readonly category = 'conflict' as const;

  constructor(
    readonly workflowName: string,
    readonly key: string,
    readonly runningId: string,
  ) {
    super(`Execution '${runningId}' of ${workflowName} with singleton key '${key}' is still going on`);
  }
}
