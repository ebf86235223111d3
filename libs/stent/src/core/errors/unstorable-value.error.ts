import { StentError } from './stent.error.js';

/**
 * The database refused a value as malformed or too large for it (a result, a step, a row of a workflow's
 * journal). Raised for the one execution whose value it is, which fails with it: storing it again would
 * fail the same way, so it is neither retried nor allowed to fail other work written alongside it.
 */
export class UnstorableValueError extends StentError {
  static override readonly code = 'STENT_UNSTORABLE_VALUE';
  static override readonly category = 'bad_input' as const;

  constructor(what: string, reason: string, options?: { cause?: unknown }) {
    super(`${what} cannot be stored: ${reason}`, options);
  }
}
