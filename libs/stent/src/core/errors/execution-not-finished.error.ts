import { StentError } from './stent.error.js';

/** The request needs a finished execution (a rewind of one still pending or running). */
export class ExecutionNotFinishedError extends StentError {
  static override readonly code = 'STENT_EXECUTION_NOT_FINISHED';
  static override readonly category = 'conflict' as const;

  constructor(
    readonly executionId: string,
    readonly state: string,
  ) {
    super(`Execution '${executionId}' is still ${state}; only a finished execution can be rewound (fork it instead)`);
  }
}
