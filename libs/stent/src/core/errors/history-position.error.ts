import { StentError } from './stent.error.js';

/**
 * A fork or rewind position the journal cannot be cut at: not a whole number from 0 to the journal's
 * length, or a step before it that never settled (the new run could not replay past it).
 */
export class HistoryPositionError extends StentError {
  static override readonly code = 'STENT_HISTORY_POSITION';
  static override readonly category = 'bad_input' as const;

  constructor(
    readonly executionId: string,
    readonly position: unknown,
    readonly reason: string,
  ) {
    super(`Execution '${executionId}': cannot go back to position ${String(position)}: ${reason}`);
  }
}
