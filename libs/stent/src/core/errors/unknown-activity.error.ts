import { StentError } from './stent.error.js';

export class UnknownActivityError extends StentError {
  static override readonly code = 'STENT_UNKNOWN_ACTIVITY';
  static override readonly category = 'not_found' as const;

  constructor(readonly activityName: string) {
    super(`No activity named '${activityName}' is registered`);
  }
}
