import { StentError } from './stent.error.js';

/** waitFor's own timeout ran out; the execution itself goes on. */
export class WaitTimeoutError extends StentError {
  static override readonly code = 'STENT_WAIT_TIMEOUT';
  static override readonly category = 'timeout' as const;

  constructor(
    readonly executionId: string,
    readonly timeoutMs: number,
  ) {
    super(`Execution '${executionId}' did not finish within ${timeoutMs} ms`);
  }
}
