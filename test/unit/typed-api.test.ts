import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineActivity, defineWorkflow, Result, Stent, type ExecutionId, type StentExecutor } from 'nestjs-stent';

// These tests are checked by the compiler (the suite runs on tsc's output): a wrong type fails the build.

class Payments {
  async charge(orderId: string, cents = 100): Promise<{ orderId: string; cents: number }> {
    return { orderId, cents };
  }
  async total(amounts: number[]): Promise<number> {
    return amounts.reduce((sum, amount) => sum + amount, 0);
  }
}
defineActivity(Payments);

class Checkout {
  constructor(private readonly payments: Payments) {}
  async run(orderId: string): Promise<Result<{ orderId: string; cents: number }, 'declined'>> {
    const [receipt] = await Stent.map(this.payments.charge, [[orderId, 250]]);
    return receipt ? Result.ok(receipt) : Result.error('declined');
  }
}
defineWorkflow(Checkout);

class Count {
  async run(n: number): Promise<number> {
    return n;
  }
}
defineWorkflow(Count);

describe('the public API says what it promises', () => {
  it('Result is a union discriminated by ok: the value after a check is a T, the error an E', () => {
    const results: Array<Result<number, string>> = [Result.ok(1), Result.error('no')];
    const seen: string[] = [];
    for (const result of results) {
      if (result.ok) {
        expectTypeOf(result.value).toEqualTypeOf<number>();
        // @ts-expect-error a success carries no error
        const none: string = result.error;
        seen.push(String(none));
        seen.push(`value ${result.value + 1}`);
      } else {
        expectTypeOf(result.error).toEqualTypeOf<string>();
        seen.push(`error ${result.error.toUpperCase()}`);
      }
    }
    expect(seen).toEqual(['undefined', 'value 2', 'error NO']);
    expect(results[0]).toBeInstanceOf(Result);
    expect({ ok: true, value: 1 }).not.toBeInstanceOf(Result);
  });

  it('waitFor is typed from the workflow the id was dispatched for', () => {
    // Types only: never called.
    const typed = async (executor: StentExecutor) => {
      const checkout = await executor.dispatch(Checkout, ['order-1']);
      expectTypeOf(checkout).toEqualTypeOf<ExecutionId<Checkout>>();
      expectTypeOf(checkout).toMatchTypeOf<string>();
      expectTypeOf(await executor.waitFor(checkout)).toEqualTypeOf<Result<{ orderId: string; cents: number }, 'declined' | Error>>();
      const count = await executor.dispatch(Count, [3]);
      expectTypeOf(await executor.waitFor(count)).toEqualTypeOf<Result<number, Error>>();
      // An id that does not carry its workflow: the caller says what run() returns.
      expectTypeOf(await executor.waitFor<number>('some-id')).toEqualTypeOf<Result<number, Error>>();
      // @ts-expect-error the arguments are checked against run()
      await executor.dispatch(Count, ['three']);
    };
    expect(typeof typed).toBe('function');
  });

  it('Stent.map items: an array is an argument list, anything else the only argument, an array argument is wrapped', () => {
    const typed = (payments: Payments) => {
      void Stent.map(payments.charge, [['a', 5], ['b'], 'c']);
      void Stent.map(payments.total, [[[1, 2]], [[]]]);
      // @ts-expect-error an array item is an argument list, so a bare array of numbers is not one for total()
      void Stent.map(payments.total, [[1, 2]]);
    };
    expect(typeof typed).toBe('function');
  });
});
