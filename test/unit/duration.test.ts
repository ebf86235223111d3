import { describe, expect, it } from 'vitest';
import { InvalidDurationError, parseDuration } from 'nestjs-stent';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['1m30s', 90_000],
    ['1.5s', 1_500],
    ['0ms', 0],
  ])('parses %j as %d ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it('takes numbers as milliseconds', () => {
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration(86_400_000)).toBe(86_400_000);
  });

  it.each([['soon'], [''], ['   '], ['10 minutes'], ['-1s'], ['1x'], ['s'], ['1h30'], ['ms500']])('refuses the malformed string %j with InvalidDurationError', (input) => {
    expect(() => parseDuration(input)).toThrow(InvalidDurationError);
  });

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY]])('refuses the number %d', (input) => {
    expect(() => parseDuration(input)).toThrow(InvalidDurationError);
  });

  it('refuses values that are neither strings nor numbers, naming the input', () => {
    for (const input of [null, undefined, {}, [], true]) {
      expect(() => parseDuration(input as never)).toThrow(InvalidDurationError);
    }
    let caught: unknown;
    try {
      parseDuration('tomorrow');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidDurationError);
    expect((caught as Error).message).toContain('tomorrow');
    expect((caught as InvalidDurationError).input).toBe('tomorrow');
  });
});
