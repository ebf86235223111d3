import { StentError } from '../errors/index.js';

/** Claim rounds failing in a row from this many on mean the worker cannot work (readiness 'unavailable'). */
export const FAILING_ROUNDS = 3;

/**
 * Whether the worker's claim rounds work: a run of failed rounds (the database refuses, a query cannot
 * run) is what readiness reports, with the last error, until a round succeeds again.
 */
export class ClaimHealth {
  failures = 0;
  lastError: unknown;
  /** When the current run of failures began (engine clock), or null while rounds succeed. */
  failingSince: number | null = null;

  succeeded(): void {
    this.failures = 0;
    this.lastError = undefined;
    this.failingSince = null;
  }

  failed(error: unknown, now: number): void {
    this.failures++;
    this.lastError = error;
    this.failingSince ??= now;
  }

  /** Several rounds in a row failed, or the last one found the database out of reach (no doubt there). */
  get failing(): boolean {
    return this.failures >= FAILING_ROUNDS || (this.failures > 0 && this.lastError instanceof StentError && this.lastError.category === 'unavailable');
  }
}
