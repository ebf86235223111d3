import { describe, expect, it } from 'vitest';
import { ExecutionNotFoundError, Result, toJsonView } from 'nestjs-stent';

describe('toJsonView', () => {
  it('turns dates, errors, Results, maps, sets and bigints into plain JSON and leaves out undefined', () => {
    const cause = new RangeError('too far');
    const error = new ExecutionNotFoundError('e-1');
    (error as { cause?: unknown }).cause = cause;
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const view = toJsonView({
      at: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)),
      invalid: new Date(Number.NaN),
      error,
      ok: Result.ok(new Date(0)),
      failed: Result.error(new TypeError('nope')),
      map: new Map([['a', 1]]),
      set: new Set([1, 2]),
      big: 10n ** 20n,
      nan: Number.NaN,
      gone: undefined,
      fn: () => 1,
      list: [undefined, 1],
      cyclic,
    }) as Record<string, any>;
    expect(view).toEqual({
      at: '2030-01-02T03:04:05.000Z',
      invalid: null,
      error: {
        name: 'ExecutionNotFoundError',
        message: "No execution with id 'e-1'",
        code: 'STENT_EXECUTION_NOT_FOUND',
        category: 'not_found',
        stack: expect.stringContaining('ExecutionNotFoundError'),
        fields: { executionId: 'e-1' },
        cause: { name: 'RangeError', message: 'too far', stack: expect.any(String) },
      },
      ok: { ok: true, value: '1970-01-01T00:00:00.000Z' },
      failed: { ok: false, error: { name: 'TypeError', message: 'nope', stack: expect.any(String) } },
      map: { a: 1 },
      set: [1, 2],
      big: '100000000000000000000',
      nan: null,
      list: [null, 1],
      cyclic: { name: 'loop', self: '[Circular]' },
    });
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });
});
