import { parseDuration, type Duration } from '../api/duration.js';
import { ConfigurationError } from '../errors/index.js';

export interface RetryOptions {
  /** Total attempts including the first one. Default 3. */
  maxAttempts?: number;
  /** Delay before the second attempt. Default '1s'. */
  initialDelay?: Duration;
  /** Each further delay is the previous one times this. Default 2. */
  backoffFactor?: number;
  /** Upper bound of a single delay. Default '5m', or `initialDelay` when that is longer. */
  maxDelay?: Duration;
  /** Randomise each delay by up to this fraction (0..1), or true for 0.2. Default true. */
  jitter?: boolean | number;
  /** Error class names (or classes) that fail the activity at once, without further attempts. */
  nonRetryable?: Array<string | (abstract new (...args: never[]) => Error)>;
}

/** The retry policy as stored with each step, so a retry survives restarts and deploys. */
export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  backoffFactor: number;
  maxDelayMs: number;
  jitter: number;
  nonRetryable: string[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  initialDelayMs: 1000,
  backoffFactor: 2,
  maxDelayMs: 300_000,
  jitter: 0.2,
  nonRetryable: [],
};

export function resolveRetryPolicy(options: RetryOptions | undefined, base: RetryPolicy = DEFAULT_RETRY_POLICY): RetryPolicy {
  if (!options) return base;
  const policy: RetryPolicy = {
    maxAttempts: options.maxAttempts ?? base.maxAttempts,
    initialDelayMs: options.initialDelay === undefined ? base.initialDelayMs : parseDuration(options.initialDelay),
    backoffFactor: options.backoffFactor ?? base.backoffFactor,
    maxDelayMs: options.maxDelay === undefined ? base.maxDelayMs : parseDuration(options.maxDelay),
    jitter: options.jitter === undefined ? base.jitter : options.jitter === true ? 0.2 : options.jitter === false ? 0 : options.jitter,
    nonRetryable: options.nonRetryable
      ? options.nonRetryable.map((entry) => (typeof entry === 'string' ? entry : entry.name))
      : base.nonRetryable,
  };
  // A default cap shorter than the initial delay given with it would cut that delay without a word: an
  // `initialDelay: '1h'` waited 5 minutes.
  if (options.maxDelay === undefined) policy.maxDelayMs = Math.max(policy.maxDelayMs, policy.initialDelayMs);
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new ConfigurationError(`retry.maxAttempts must be a whole number >= 1, got ${options.maxAttempts}`);
  }
  if (!(policy.backoffFactor >= 1)) throw new ConfigurationError(`retry.backoffFactor must be >= 1, got ${options.backoffFactor}`);
  if (!(policy.jitter >= 0 && policy.jitter <= 1)) throw new ConfigurationError(`retry.jitter must be between 0 and 1, got ${options.jitter}`);
  return policy;
}

/** Delay before attempt `nextAttempt` (2 for the first retry). */
export function retryDelayMs(policy: RetryPolicy, nextAttempt: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, nextAttempt - 2);
  const raw = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.backoffFactor ** exponent);
  if (policy.jitter === 0) return Math.round(raw);
  const spread = raw * policy.jitter;
  return Math.max(0, Math.round(raw - spread + random() * 2 * spread));
}

export function isRetryable(policy: RetryPolicy, error: unknown): boolean {
  if (error && typeof error === 'object') {
    if ((error as { nonRetryable?: unknown }).nonRetryable === true) return false;
    let proto = Object.getPrototypeOf(error);
    const names = new Set<string>([(error as Error).name]);
    while (proto && proto !== Object.prototype) {
      if (proto.constructor?.name) names.add(proto.constructor.name);
      proto = Object.getPrototypeOf(proto);
    }
    if (policy.nonRetryable.some((name) => names.has(name))) return false;
  }
  return true;
}
