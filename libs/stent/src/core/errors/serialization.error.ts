import { StentError } from './stent.error.js';

/** A value that would not survive the trip through the database (refused before anything is stored). */
export class SerializationError extends StentError {
  static override readonly code = 'STENT_NOT_SERIALIZABLE';
  static override readonly category = 'bad_input' as const;

  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`Value at ${path} cannot be stored durably: ${reason}`);
  }
}
