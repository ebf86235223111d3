import { StentError } from './stent.error.js';

/** Throw (or subclass) this inside an activity to fail it without further retries. */
export class NonRetryableError extends StentError {
  static override readonly code: string = 'STENT_NON_RETRYABLE';
  static override readonly category: typeof StentError.category = 'outcome';
  readonly nonRetryable = true;
}
