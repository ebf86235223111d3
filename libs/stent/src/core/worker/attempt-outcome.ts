import { RateLimitedError, SerializationError } from '../errors/index.js';
import { DEFAULT_RETRY_POLICY, isRetryable, retryDelayMs } from '../definitions/retry-policy.js';
import { encode, encodeError } from '../serialization.js';
import type { StepOutcome, StepRecord } from '../store/index.js';

/** Marks a result that came from the idempotency/cache table rather than from running the body. */
export const CACHED = Symbol('stent.cached');

/** What an attempt's body did: returned a value (or a cached result), or threw. */
export type AttemptResult = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * What an attempt's result becomes in the journal: its encoded result (with where to cache it), a retry
 * after the policy's back-off, or a failure for good (attempts exhausted, a non-retryable error, a result
 * that cannot be stored). `failure` is the error the attempt failed with, if it did.
 */
export function attemptOutcome(
  step: StepRecord,
  result: AttemptResult,
  cache: { key: string; expiresAt: number | null } | undefined,
  now: number,
): { outcome: StepOutcome; failure?: unknown; willRetry?: boolean } {
  let failure: unknown;
  if (result.ok) {
    const value = result.value as Record<symbol, string> | undefined;
    if (value && typeof value === 'object' && CACHED in value) return { outcome: { kind: 'completed', result: value[CACHED]! } };
    try {
      return { outcome: { kind: 'completed', result: encode(result.value, `${step.name}(result)`), cache } };
    } catch (error) {
      failure = error;
    }
  } else {
    failure = result.error;
  }
  if (failure instanceof RateLimitedError) {
    // Parked, not failed: the attempt is given back, and the key (if the call has one) waits as long.
    const flowKey = step.rateKey ?? step.concurrencyKey ?? null;
    return { outcome: { kind: 'parked', error: encodeError(failure), availableAt: now + failure.retryAfterMs, name: step.name, flowKey }, failure, willRetry: true };
  }
  const policy = step.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const retryable = !(failure instanceof SerializationError) && isRetryable(policy, failure);
  const willRetry = retryable && step.attempts < policy.maxAttempts;
  const outcome: StepOutcome = willRetry
    ? { kind: 'retry', error: encodeError(failure), availableAt: now + retryDelayMs(policy, step.attempts + 1) }
    : { kind: 'failed', error: encodeError(failure), deadLetterReason: retryable ? 'attempts exhausted' : 'non-retryable error' };
  return { outcome, failure, willRetry };
}
