import { StentError } from './stent.error.js';

/** Calling a durable helper (Stent.sleep, ...) outside a running workflow. */
export class NotInWorkflowError extends StentError {
  static override readonly code = 'STENT_NOT_IN_WORKFLOW';
  static override readonly category = 'bad_input' as const;

  constructor(what: string) {
    super(`${what} can only be called inside a running workflow`);
  }
}
