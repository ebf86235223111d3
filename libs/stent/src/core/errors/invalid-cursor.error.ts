import { StentError } from './stent.error.js';

/** A page cursor that this version of Stent did not hand out (edited, truncated or from another listing). */
export class InvalidCursorError extends StentError {
  static override readonly code = 'STENT_INVALID_CURSOR';
  static override readonly category = 'bad_input' as const;

  constructor(readonly cursor: string) {
    super(`Invalid page cursor '${cursor.length > 80 ? `${cursor.slice(0, 80)}...` : cursor}': pass the nextCursor of a previous page unchanged`);
  }
}
