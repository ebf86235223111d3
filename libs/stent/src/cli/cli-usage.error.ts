import { StentError } from '../core/errors/stent.error.js';

/** The command line cannot be run as given: unknown command or option, a missing or malformed argument. */
export class CliUsageError extends StentError {
  static override readonly code = 'STENT_CLI_USAGE';
  static override readonly category = 'bad_input' as const;
}
