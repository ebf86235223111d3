import { StentError } from './stent.error.js';

/** A journal assertion of the testing harness failed: the steps that ran are not the ones expected. */
export class JournalMismatchError extends StentError {
  static override readonly code = 'STENT_JOURNAL_MISMATCH';
  static override readonly category = 'conflict' as const;

  constructor(
    readonly executionId: string,
    readonly expected: unknown[],
    readonly actual: unknown[],
  ) {
    super(
      `Journal of execution '${executionId}' does not match.\n  expected: ${JSON.stringify(expected)}\n  actual:   ${JSON.stringify(actual)}`,
    );
  }
}
