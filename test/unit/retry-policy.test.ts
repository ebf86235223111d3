import { describe, expect, it } from 'vitest';
import { ConfigurationError, resolveRetryPolicy, retryDelayMs } from 'nestjs-stent/internal';

describe('retryDelayMs', () => {
  it('grows by the backoff factor from the initial delay', () => {
    const policy = resolveRetryPolicy({ initialDelay: '100ms', backoffFactor: 3, maxDelay: '1h', jitter: false });
    expect([2, 3, 4, 5].map((attempt) => retryDelayMs(policy, attempt))).toEqual([100, 300, 900, 2700]);
  });

  it('caps each delay at maxDelay', () => {
    const policy = resolveRetryPolicy({ initialDelay: '1s', backoffFactor: 2, maxDelay: '5s', jitter: false });
    expect([2, 3, 4, 5, 6, 10].map((attempt) => retryDelayMs(policy, attempt))).toEqual([1000, 2000, 4000, 5000, 5000, 5000]);
  });

  it('without a maxDelay, an initial delay longer than the default cap is waited in full', () => {
    const policy = resolveRetryPolicy({ initialDelay: '1h', jitter: false });
    expect([2, 3].map((attempt) => retryDelayMs(policy, attempt))).toEqual([3_600_000, 3_600_000]);
    // A maxDelay given with it still caps it, and a short initial delay keeps the default cap.
    expect(retryDelayMs(resolveRetryPolicy({ initialDelay: '1h', maxDelay: '10m', jitter: false }), 2)).toBe(600_000);
    expect(retryDelayMs(resolveRetryPolicy({ initialDelay: '1m', backoffFactor: 10, jitter: false }), 4)).toBe(300_000);
  });

  it('a factor of 1 gives a constant delay', () => {
    const policy = resolveRetryPolicy({ initialDelay: '250ms', backoffFactor: 1, jitter: false });
    expect([2, 3, 4].map((attempt) => retryDelayMs(policy, attempt))).toEqual([250, 250, 250]);
  });

  it('jitter spreads the delay within +/- the fraction, reaching both ends', () => {
    const policy = resolveRetryPolicy({ initialDelay: '1s', backoffFactor: 2, jitter: 0.25 });
    expect(retryDelayMs(policy, 3, () => 0)).toBe(1500);
    expect(retryDelayMs(policy, 3, () => 0.5)).toBe(2000);
    expect(retryDelayMs(policy, 3, () => 0.999999)).toBeCloseTo(2500, -1);
  });

  it('default random jitter stays inside its bounds and actually varies', () => {
    const policy = resolveRetryPolicy({ initialDelay: '1s', backoffFactor: 2, jitter: true });
    expect(policy.jitter).toBe(0.2);
    const samples = Array.from({ length: 500 }, () => retryDelayMs(policy, 2));
    for (const sample of samples) {
      expect(sample).toBeGreaterThanOrEqual(800);
      expect(sample).toBeLessThanOrEqual(1200);
    }
    expect(new Set(samples).size).toBeGreaterThan(10);
  });

  it('jitter never takes the delay past maxDelay by more than the fraction', () => {
    const policy = resolveRetryPolicy({ initialDelay: '1s', backoffFactor: 10, maxDelay: '2s', jitter: 0.1 });
    for (let i = 0; i < 100; i++) {
      const sample = retryDelayMs(policy, 6);
      expect(sample).toBeGreaterThanOrEqual(1800);
      expect(sample).toBeLessThanOrEqual(2200);
    }
  });
});

describe('resolveRetryPolicy', () => {
  it('stores non-retryable classes by name', () => {
    class PaymentDeclined extends Error {}
    expect(resolveRetryPolicy({ nonRetryable: [PaymentDeclined, 'OtherError'] }).nonRetryable).toEqual(['PaymentDeclined', 'OtherError']);
  });

  it('refuses nonsense', () => {
    expect(() => resolveRetryPolicy({ maxAttempts: 0 })).toThrow(ConfigurationError);
    expect(() => resolveRetryPolicy({ maxAttempts: 1.5 })).toThrow(ConfigurationError);
    expect(() => resolveRetryPolicy({ backoffFactor: 0.5 })).toThrow(ConfigurationError);
    expect(() => resolveRetryPolicy({ jitter: 2 })).toThrow(ConfigurationError);
  });
});
