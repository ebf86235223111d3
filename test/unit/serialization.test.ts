import { describe, expect, it } from 'vitest';
import { ActivityFailedError, decode, encode, registerErrorClass, Result, SerializationError } from 'nestjs-stent/internal';

const roundTrip = <T>(value: T): T => decode(encode(value)) as T;

class PaymentDeclinedError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly details: { retryAfter: number },
  ) {
    super(message);
    this.name = 'PaymentDeclinedError';
  }
  describe(): string {
    return `${this.code}: ${this.message}`;
  }
}
registerErrorClass(PaymentDeclinedError);

class UnregisteredError extends Error {
  readonly extra = 7;
  constructor(message: string) {
    super(message);
    this.name = 'UnregisteredError';
  }
}

describe('value serialization', () => {
  it('round-trips plain JSON values', () => {
    const value = { s: 'text', n: 1.5, z: 0, neg: -3, b: false, nil: null, list: [1, 'two', [3]], nested: { deep: { deeper: ['x'] } } };
    expect(roundTrip(value)).toEqual(value);
    expect(roundTrip('just a string')).toBe('just a string');
    expect(roundTrip(null)).toBeNull();
  });

  it('keeps Dates as Dates, also nested', () => {
    const at = new Date('2024-02-29T12:34:56.789Z');
    const back = roundTrip({ at, list: [at], inner: { at } });
    expect(back.at).toBeInstanceOf(Date);
    expect(back.at.toISOString()).toBe(at.toISOString());
    expect(back.list[0]).toBeInstanceOf(Date);
    expect(back.inner.at.getTime()).toBe(at.getTime());
  });

  it('keeps undefined at the top level and inside arrays', () => {
    expect(roundTrip(undefined)).toBeUndefined();
    const back = roundTrip([1, undefined, 3]);
    expect(back).toHaveLength(3);
    expect(back[1]).toBeUndefined();
    // an undefined property is not a value: it simply stays absent
    expect(roundTrip({ a: 1, b: undefined })).toEqual({ a: 1 });
  });

  it('rebuilds Results with their value or error', () => {
    const ok = roundTrip(Result.ok({ id: 'r1', when: new Date(0) }));
    expect(ok).toBeInstanceOf(Result);
    expect(ok.ok).toBe(true);
    expect(ok.value!.when).toBeInstanceOf(Date);
    const failed = roundTrip(Result.error({ reason: 'rejected' }));
    expect(failed).toBeInstanceOf(Result);
    expect(failed.ok).toBe(false);
    expect(failed.error).toEqual({ reason: 'rejected' });
    const nested = roundTrip({ r: Result.ok(Result.error('inner')) });
    expect((nested.r.value as Result<unknown, string>).error).toBe('inner');
  });

  it('accepts the same object twice (shared, not circular)', () => {
    const shared = { x: 1 };
    expect(roundTrip({ a: shared, b: shared, list: [shared, shared] })).toEqual({ a: { x: 1 }, b: { x: 1 }, list: [{ x: 1 }, { x: 1 }] });
  });

  it('rebuilds a registered error class with message, stack and own fields (instanceof works)', () => {
    const original = new PaymentDeclinedError('card declined', 'E_DECLINED', { retryAfter: 30 });
    const back = roundTrip(original);
    expect(back).toBeInstanceOf(PaymentDeclinedError);
    expect(back).toBeInstanceOf(Error);
    expect(back).not.toBe(original);
    expect(back.name).toBe('PaymentDeclinedError');
    expect(back.message).toBe('card declined');
    expect(back.stack).toBe(original.stack);
    expect(back.code).toBe('E_DECLINED');
    expect(back.details).toEqual({ retryAfter: 30 });
    expect(back.describe()).toBe('E_DECLINED: card declined');
  });

  it('rebuilds errors nested in values, built-in classes and Stent errors', () => {
    const back = roundTrip({ list: [new TypeError('bad type')], failure: new ActivityFailedError('A.b', 3, new RangeError('out of range')) });
    expect(back.list[0]).toBeInstanceOf(TypeError);
    expect(back.list[0].message).toBe('bad type');
    expect(back.failure).toBeInstanceOf(ActivityFailedError);
    expect(back.failure.attempts).toBe(3);
    expect(back.failure.activityName).toBe('A.b');
    expect(back.failure.cause).toBeInstanceOf(RangeError);
    expect((back.failure.cause as Error).message).toBe('out of range');
  });

  it('keeps the name, message and fields of an unregistered error class', () => {
    const original = new UnregisteredError('who am I');
    const back = roundTrip(original);
    expect(back).toBeInstanceOf(Error);
    expect(back.stack).toBe(original.stack);
    expect(back.name).toBe('UnregisteredError');
    expect(back.message).toBe('who am I');
    expect(back.extra).toBe(7);
  });

  it.each([
    ['a function', { f: () => 1 }],
    ['a bigint', { n: 10n }],
    ['a Map', { m: new Map([['a', 1]]) }],
    ['a Set', [new Set([1])]],
    ['a symbol', { s: Symbol('x') }],
    ['NaN', { n: Number.NaN }],
    ['a Promise', { p: Promise.resolve(1) }],
  ])('refuses %s with SerializationError', (_label, value) => {
    expect(() => encode(value)).toThrow(SerializationError);
  });

  it('refuses a circular structure and says where', () => {
    const node: Record<string, unknown> = { name: 'root', child: { name: 'child' } };
    (node.child as Record<string, unknown>).parent = node;
    let caught: unknown;
    try {
      encode(node);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SerializationError);
    expect((caught as SerializationError).path).toBe('$.child.parent');
    expect((caught as Error).message).toMatch(/circular/);
  });

  it('names the path of a refused nested value', () => {
    let caught: unknown;
    try {
      encode({ order: { lines: [{ sku: 'a' }, { price: new Map() }] } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SerializationError);
    expect((caught as SerializationError).path).toBe('$.order.lines[1].price');
  });
});
