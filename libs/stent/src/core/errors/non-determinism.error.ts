import { StentError } from './stent.error.js';

/** A workflow took a different path on replay than the one its journal recorded. */
export class NonDeterminismError extends StentError {
  static override readonly code = 'STENT_NON_DETERMINISM';
  static override readonly category = 'outcome' as const;

  constructor(
    readonly position: number,
    readonly recorded: string,
    readonly attempted: string,
  ) {
    super(
      `Non-deterministic workflow: journal position ${position} recorded '${recorded}' but the replay called '${attempted}'`,
    );
  }
}
