import { StentError } from '../../core/index.js';

/** An admin API request whose body or query the API cannot use (missing field, wrong type, unknown parameter). */
export class InvalidRequestError extends StentError {
  static override readonly code = 'STENT_INVALID_REQUEST';
  static override readonly category = 'bad_input' as const;

  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`Invalid request: '${field}' ${reason}`);
  }
}
