import { StentError } from './stent.error.js';

export class ActivityTimeoutError extends StentError {
  static override readonly code = 'STENT_ACTIVITY_TIMEOUT';
  static override readonly category = 'outcome' as const;

  constructor(
    readonly activityName: string,
    readonly timeoutMs: number,
  ) {
    super(`Activity '${activityName}' attempt exceeded its timeout of ${timeoutMs} ms`);
  }
}
