import { StentError } from '../core/errors/stent.error.js';

/** A change was not confirmed: the operator answered no, or stdin is not a terminal and --yes was not given. */
export class CliNotConfirmedError extends StentError {
  static override readonly code = 'STENT_CLI_NOT_CONFIRMED';
  static override readonly category = 'conflict' as const;
}
