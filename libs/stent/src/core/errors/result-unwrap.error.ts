import { StentError } from './stent.error.js';

export class ResultUnwrapError extends StentError {
  static override readonly code = 'STENT_RESULT_UNWRAP';
  static override readonly category = 'outcome' as const;

  constructor(readonly error: unknown) {
    super(`Called unwrap() on an error Result: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
  }
}
