import { describe, expect, it, vi } from 'vitest';
import { Result, ResultUnwrapError } from 'nestjs-stent';

describe('Result', () => {
  it('ok carries a value', () => {
    const r = Result.ok(42);
    expect(r.ok).toBe(true);
    expect(r.value).toBe(42);
    expect(r.error).toBeUndefined();
    expect(Result.isResult(r)).toBe(true);
    expect(Result.isResult({ ok: true, value: 42 })).toBe(false);
  });

  it('error carries an error', () => {
    const r = Result.error('nope');
    expect(r.ok).toBe(false);
    expect(r.error).toBe('nope');
    expect(r.value).toBeUndefined();
  });

  it('unwrap returns the value of ok and throws for error', () => {
    expect(Result.ok('v').unwrap()).toBe('v');
    const cause = new TypeError('bad');
    expect(() => Result.error(cause).unwrap()).toThrow(cause);
    let caught: unknown;
    try {
      Result.error({ code: 'E1' }).unwrap();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ResultUnwrapError);
    expect((caught as ResultUnwrapError).error).toEqual({ code: 'E1' });
  });

  it('unwrapOr falls back only for error', () => {
    expect(Result.ok(1).unwrapOr(2)).toBe(1);
    expect(Result.error('x').unwrapOr(2)).toBe(2);
    expect(Result.ok(0).unwrapOr(5)).toBe(0);
  });

  it('map transforms ok and passes error through without calling fn', () => {
    expect(Result.ok(2).map((n) => n * 10).value).toBe(20);
    const fn = vi.fn((n: number) => n * 10);
    const mapped = (Result.error('e') as Result<number, string>).map(fn);
    expect(fn).not.toHaveBeenCalled();
    expect(mapped.ok).toBe(false);
    expect(mapped.error).toBe('e');
  });

  it('flatMap chains and short-circuits', () => {
    const half = (n: number): Result<number, string> => (n % 2 === 0 ? Result.ok(n / 2) : Result.error(`odd: ${n}`));
    expect(Result.ok(8).flatMap(half).flatMap(half).value).toBe(2);
    const failed = Result.ok(6).flatMap(half).flatMap(half);
    expect(failed.ok).toBe(false);
    expect(failed.error).toBe('odd: 3');
    const fn = vi.fn(half);
    const untouched = (Result.error('first') as Result<number, string>).flatMap(fn);
    expect(fn).not.toHaveBeenCalled();
    expect(untouched.error).toBe('first');
  });
});
