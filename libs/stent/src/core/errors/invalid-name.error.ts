import { ConfigurationError } from './configuration.error.js';

/** What kind of name was refused. */
export type NameKind = 'workflow' | 'activity' | 'queue' | 'tag' | 'schema';

/**
 * A durable name, queue, tag or schema name the database could not store or match as given (too
 * long for its column, a character one of the databases refuses, ...). Refused where it is declared.
 */
export class InvalidNameError extends ConfigurationError {
  static override readonly code = 'STENT_INVALID_NAME';

  constructor(
    readonly kind: NameKind,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`Invalid ${kind} name ${JSON.stringify(value)}: ${reason}`);
  }
}
