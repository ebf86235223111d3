import { ConfigurationError } from './configuration.error.js';

/** A schedule Stent cannot run: a cron expression it cannot read, an unknown time zone, a bad policy. */
export class InvalidScheduleError extends ConfigurationError {
  static override readonly code = 'STENT_INVALID_SCHEDULE';

  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`Invalid schedule ${field}: ${reason}`);
  }
}
