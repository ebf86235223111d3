import { StentError } from './stent.error.js';

/** getEvent's own timeout ran out before the execution set the event; the execution goes on. */
export class EventTimeoutError extends StentError {
  static override readonly code = 'STENT_EVENT_TIMEOUT';
  static override readonly category = 'timeout' as const;

  constructor(
    readonly executionId: string,
    readonly key: string,
    readonly timeoutMs: number,
  ) {
    super(`Execution '${executionId}' did not set event '${key}' within ${timeoutMs} ms`);
  }
}
