import { StentError } from './stent.error.js';

/** getEvent on an execution that ended without setting the event: it never will. */
export class EventNotSetError extends StentError {
  static override readonly code = 'STENT_EVENT_NOT_SET';
  static override readonly category = 'not_found' as const;

  constructor(
    readonly executionId: string,
    readonly key: string,
    readonly state: string,
  ) {
    super(`Execution '${executionId}' ended (${state}) without setting event '${key}'`);
  }
}
