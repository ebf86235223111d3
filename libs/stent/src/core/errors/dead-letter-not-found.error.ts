import { StentError } from './stent.error.js';

export class DeadLetterNotFoundError extends StentError {
  static override readonly code = 'STENT_DEAD_LETTER_NOT_FOUND';
  static override readonly category = 'not_found' as const;

  constructor(readonly id: string) {
    super(`No dead-lettered task with id '${id}'`);
  }
}
