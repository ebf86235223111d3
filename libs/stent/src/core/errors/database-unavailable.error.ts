import { StentError } from './stent.error.js';

/**
 * The database is out of reach: it refused or dropped the connection (a restart, a failover, a network
 * cut), or it could not be reached at start within `connectTimeout`. Retryable: nothing was changed by
 * the operation that failed, unless `ambiguous` says the connection broke while a commit was on its way
 * (then the change may or may not have been made; an operation with an idempotency key or an explicit
 * execution id is safe to repeat).
 */
export class DatabaseUnavailableError extends StentError {
  static override readonly code = 'STENT_DATABASE_UNAVAILABLE';
  static override readonly category = 'unavailable' as const;
  readonly retryable = true;
  /** Connection attempts made (at start) or tries of the failed operation. */
  readonly attempts: number;
  /** The connection broke after the change was sent to be committed. */
  readonly ambiguous: boolean;

  constructor(message: string, options: { cause?: unknown; attempts?: number; ambiguous?: boolean } = {}) {
    const cause = options.cause;
    super(`${message}: ${cause instanceof Error ? cause.message : String(cause ?? 'unknown cause')}`, { cause });
    this.attempts = options.attempts ?? 1;
    this.ambiguous = options.ambiguous ?? false;
  }
}
