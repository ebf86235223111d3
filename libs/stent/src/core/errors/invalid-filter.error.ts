import { StentError } from './stent.error.js';

/** A listing's filter or page that cannot be applied (unknown field, wrong type, a limit over the cap). */
export class InvalidFilterError extends StentError {
  static override readonly code = 'STENT_INVALID_FILTER';
  static override readonly category = 'bad_input' as const;

  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`Invalid filter '${field}': ${reason}`);
  }
}
