import { StentError } from './stent.error.js';

/** Thrown into a workflow when an activity failed for good (attempts exhausted or a non-retryable error). */
export class ActivityFailedError extends StentError {
  static override readonly code = 'STENT_ACTIVITY_FAILED';
  static override readonly category = 'outcome' as const;

  constructor(
    readonly activityName: string,
    readonly attempts: number,
    cause: unknown,
    /** Journal position of the failed step in the workflow that called it ... */
    readonly position?: number,
    /** ... and that workflow's execution. */
    readonly executionId?: string,
  ) {
    super(
      `Activity '${activityName}' failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
  }
}
