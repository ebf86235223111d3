import { afterEach, describe, expect, it } from 'vitest';
import { ActivityFailedError, defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, FAST_WORKER, type Harness } from '../support/executor-set.js';

class SquareAndPairActs {
  async square(n: number): Promise<number> {
    return n * n;
  }
  async pair(a: number, b: number): Promise<number> {
    return a * 100 + b;
  }
  /** One required parameter and one with a default: its Function.length is 1. */
  async charge(orderId: string, cents = 100): Promise<string> {
    return `${orderId}:${cents}`;
  }
  /** Its only parameter is an array. */
  async total(amounts: number[]): Promise<number> {
    return amounts.reduce((sum, amount) => sum + amount, 0);
  }
  async picky(n: number): Promise<number> {
    if (n % 10 === 3) throw new Error(`item ${n} is bad`);
    return n;
  }
}
defineActivity(SquareAndPairActs, { retry: { maxAttempts: 1 } });

class MapFlow {
  constructor(private readonly items: SquareAndPairActs) {}
  async run(n: number): Promise<number[]> {
    return Stent.map(this.items.square, Array.from({ length: n }, (_, i) => i));
  }
}
defineWorkflow(MapFlow);

class PairFlow {
  constructor(private readonly items: SquareAndPairActs) {}
  async run(): Promise<number[]> {
    return Stent.map(this.items.pair, [
      [1, 2],
      [3, 4],
    ]);
  }
}
defineWorkflow(PairFlow);

/** Items as argument lists, bare single arguments, and an array wrapped as the only argument. */
class ArgumentRuleFlow {
  constructor(private readonly items: SquareAndPairActs) {}
  async run(): Promise<{ charges: string[]; totals: number[] }> {
    const charges = await Stent.map(this.items.charge, [['a', 5], ['b'], 'c']);
    const totals = await Stent.map(this.items.total, [[[1, 2, 3]], [[]]]);
    return { charges, totals };
  }
}
defineWorkflow(ArgumentRuleFlow);

class AllFlow {
  constructor(private readonly items: SquareAndPairActs) {}
  async run(n: number): Promise<number[]> {
    return Promise.all(Array.from({ length: n }, (_, i) => this.items.square(i)));
  }
}
defineWorkflow(AllFlow);

class SettledFlow {
  constructor(private readonly items: SquareAndPairActs) {}
  async run(n: number): Promise<Array<{ ok: boolean; value?: number; error?: string; cause?: string }>> {
    const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => this.items.picky(i)));
    return settled.map((s) =>
      s.status === 'fulfilled'
        ? { ok: true, value: s.value }
        : { ok: false, error: (s.reason as Error).constructor.name, cause: ((s.reason as ActivityFailedError).cause as Error).message },
    );
  }
}
defineWorkflow(SettledFlow);

class FirstFailureFlow {
  constructor(private readonly items: SquareAndPairActs) {}
  async run(): Promise<string> {
    try {
      await Stent.map(this.items.picky, [1, 2, 3, 4]);
      return 'no failure';
    } catch (error) {
      return error instanceof ActivityFailedError ? `caught ${error.activityName}` : 'other';
    }
  }
}
defineWorkflow(FirstFailureFlow);

describe.each(DIALECTS)('fan-out on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());
  const setup = async () => {
    const items = new SquareAndPairActs();
    harness = await createHarness(dialect, [items, new MapFlow(items), new AllFlow(items), new SettledFlow(items), new FirstFailureFlow(items), new PairFlow(items), new ArgumentRuleFlow(items)], {
      ...FAST_WORKER,
      concurrency: 50,
    });
  };

  it('Stent.map over 1000 items returns results in order with one journal row per item', async () => {
    await setup();
    const id = await harness.executor.dispatch(MapFlow, [1000]);
    const result = await harness.executor.waitFor(id, { timeout: '60s' });
    expect(result.value).toEqual(Array.from({ length: 1000 }, (_, i) => i * i));
    const journal = await harness.executor.getJournal(id);
    expect(journal).toHaveLength(1000);
    expect(journal.map((s) => s.position)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('Stent.map spreads argument tuples for multi-parameter activities', async () => {
    await setup();
    const id = await harness.executor.dispatch(PairFlow, []);
    expect((await harness.executor.waitFor(id, { timeout: '30s' })).value).toEqual([102, 304]);
  });

  it('Stent.map takes an array item as the argument list and anything else as the only argument, whatever Function.length says', async () => {
    await setup();
    const id = await harness.executor.dispatch(ArgumentRuleFlow, []);
    expect((await harness.executor.waitFor(id, { timeout: '30s' })).unwrap()).toEqual({ charges: ['a:5', 'b:100', 'c:100'], totals: [6, 0] });
  });

  it('Promise.all over 1000 durable calls', async () => {
    await setup();
    const id = await harness.executor.dispatch(AllFlow, [1000]);
    const result = await harness.executor.waitFor(id, { timeout: '60s' });
    expect(result.value).toEqual(Array.from({ length: 1000 }, (_, i) => i * i));
    expect(await harness.executor.getJournal(id)).toHaveLength(1000);
  });

  it('partial failures surface as ActivityFailedError for those items (Promise.allSettled)', async () => {
    await setup();
    const id = await harness.executor.dispatch(SettledFlow, [30]);
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    const value = result.value as Array<{ ok: boolean; error?: string; cause?: string }>;
    expect(value.filter((v) => !v.ok).map((v) => v.cause)).toEqual(['item 3 is bad', 'item 13 is bad', 'item 23 is bad']);
    expect(value.filter((v) => !v.ok).every((v) => v.error === 'ActivityFailedError')).toBe(true);
    expect(value.filter((v) => v.ok)).toHaveLength(27);
  });

  it('a failing item rejects Stent.map with a catchable ActivityFailedError', async () => {
    await setup();
    const id = await harness.executor.dispatch(FirstFailureFlow, []);
    expect((await harness.executor.waitFor(id, { timeout: '30s' })).value).toBe('caught SquareAndPairActs.picky');
  });
});
