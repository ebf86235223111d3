import { parseDuration, type Duration } from '../api/duration.js';
import { StentError } from './stent.error.js';

/**
 * Thrown by an activity that met an external rate limit: the step is parked until `retryAfter` has passed
 * without using an attempt, and when its call has a rate-limit or concurrency key, every step of that key
 * waits as long.
 */
export class RateLimitedError extends StentError {
  static override readonly code = 'STENT_RATE_LIMITED';
  static override readonly category = 'outcome' as const;
  /** How long to wait, in milliseconds. */
  readonly retryAfterMs: number;

  constructor(options: { retryAfter: Duration; message?: string }) {
    const retryAfterMs = parseDuration(options?.retryAfter);
    super(options.message ?? `Rate limited: retry after ${retryAfterMs} ms`);
    this.retryAfterMs = retryAfterMs;
  }
}
