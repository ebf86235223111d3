import { StentError } from './stent.error.js';

/**
 * An execution's journal reached the worker's hard limit (worker.journal.limit): the execution fails
 * instead of growing without end. A workflow that loops for long should continue as new now and then.
 */
export class JournalLimitError extends StentError {
  static override readonly code = 'STENT_JOURNAL_LIMIT';
  static override readonly category = 'outcome' as const;

  constructor(
    readonly executionId: string,
    readonly limit: number,
  ) {
    super(`Execution '${executionId}' reached the journal limit of ${limit} steps (use Stent.continueAsNew to start over with a fresh journal, or raise worker.journal.limit)`);
  }
}
