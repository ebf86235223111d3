import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, Stent, StentExecutor, type StentStore } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, ExecutorSet, type Harness, QUICK_WORKER } from '../support/executor-set.js';
import { overrideStore } from '../support/store-proxy.js';

/** Bodies running now and the most seen at once, per activity. */
const plain = { now: 0, most: 0 };
const capped = { now: 0, most: 0 };
const keyed = { now: 0, most: 0 };
const bodies: Array<Promise<void>> = [];

/** A body that ignores its attempt's 100 ms timeout (and the AbortSignal) and runs 600 ms. */
async function stubbornBody(count: { now: number; most: number }, i: number): Promise<number> {
  count.now++;
  count.most = Math.max(count.most, count.now);
  const done = new Promise<void>((resolve) => setTimeout(resolve, 600));
  bodies.push(done);
  await done;
  count.now--;
  return i;
}

const RETRY = { maxAttempts: 2, initialDelay: '10ms', jitter: false } as const;

class Stubborn {
  async slow(i: number): Promise<number> {
    return stubbornBody(plain, i);
  }
}
defineActivity(Stubborn, { name: 'Stubborn', timeout: '100ms', retry: RETRY });

class StubbornCapped {
  async slow(i: number): Promise<number> {
    return stubbornBody(capped, i);
  }
}
defineActivity(StubbornCapped, { name: 'StubbornCapped', maxConcurrent: 1, timeout: '100ms', retry: RETRY });

/** One tenant's activity, one body at a time. */
class StubbornKeyed {
  async slow(i: number): Promise<number> {
    return stubbornBody(keyed, i);
  }
}
defineActivity(StubbornKeyed, { name: 'StubbornKeyed', concurrency: { key: () => 'tenant', limit: 1 }, timeout: '100ms', retry: RETRY });

/** Calls slow(0) to slow(n - 1) at once; how each call ended. */
function fanOut(acts: { slow(i: number): Promise<number> }, n: number): Promise<string[]> {
  return Promise.allSettled(Array.from({ length: n }, (_, i) => acts.slow(i))).then((r) => r.map((x) => x.status));
}

class FanStubborn {
  constructor(private readonly acts: Stubborn) {}
  async run(n: number): Promise<string[]> {
    return fanOut(this.acts, n);
  }
}
defineWorkflow(FanStubborn, { name: 'FanStubborn' });

class FanCapped {
  constructor(private readonly acts: StubbornCapped) {}
  async run(n: number): Promise<string[]> {
    return fanOut(this.acts, n);
  }
}
defineWorkflow(FanCapped, { name: 'FanCapped' });

class FanKeyed {
  constructor(private readonly acts: StubbornKeyed) {}
  async run(n: number): Promise<string[]> {
    return fanOut(this.acts, n);
  }
}
defineWorkflow(FanKeyed, { name: 'FanKeyed' });

class Racer {
  async quick(): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 30)));
    return 'q';
  }
}
defineActivity(Racer, { name: 'Racer' });

class RaceFlow {
  constructor(private readonly acts: Racer) {}
  async run(): Promise<string> {
    const a = await this.acts.quick();
    Stent.setProgress({ a });
    return a + (await this.acts.quick());
  }
}
defineWorkflow(RaceFlow, { name: 'RaceFlow' });

/**
 * Holds the first claim of steps made while a capped body runs until the store has written an attempt's
 * failure (or `holdMs` passed): the claim's filter is built before that outcome, its statement runs after.
 */
function holdClaimPastOutcome(store: StentStore, holdMs: number, count: { now: number }): StentStore {
  let outcomeWritten!: () => void;
  const written = new Promise<void>((resolve) => (outcomeWritten = resolve));
  let held = false;
  return overrideStore(store, {
    async claimSteps(...args: Parameters<StentStore['claimSteps']>) {
      if (!held && count.now > 0) {
        held = true;
        await Promise.race([written, new Promise((resolve) => setTimeout(resolve, holdMs))]);
      }
      return store.claimSteps(...args);
    },
    async completeSteps(...args: Parameters<StentStore['completeSteps']>) {
      const owned = await store.completeSteps(...args);
      if (args[0].some((completion) => completion.outcome.kind !== 'completed')) outcomeWritten();
      return owned;
    },
  });
}

describe.each(DIALECTS)('slots, caps and final states under timeouts and cancels on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    await Promise.all(bodies.splice(0));
    for (const count of [plain, capped, keyed]) count.now = count.most = 0;
    await harness?.dispose();
  });

  it('worker concurrency 1 is not exceeded when timed-out attempts keep running', async () => {
    const acts = new Stubborn();
    harness = await createHarness(dialect, [acts, new FanStubborn(acts)], { concurrency: 1, pollInterval: '20ms', maxPollInterval: '100ms', lease: '5s' });
    const id = await harness.executor.dispatch(FanStubborn, [3]);
    await harness.executor.waitFor(id, { timeout: '20s' });
    expect(plain.most).toBeLessThanOrEqual(1);
  });

  it('maxConcurrent 1 is not exceeded in one process when timed-out attempts keep running', async () => {
    const acts = new StubbornCapped();
    harness = await createHarness(dialect, [acts, new FanCapped(acts)], { concurrency: 8, pollInterval: '20ms', maxPollInterval: '100ms', lease: '5s' });
    const id = await harness.executor.dispatch(FanCapped, [3]);
    await harness.executor.waitFor(id, { timeout: '20s' });
    expect(capped.most).toBeLessThanOrEqual(1);
  });

  it('per-key concurrency 1 is not exceeded in one process when timed-out attempts keep running', async () => {
    // Each attempt's failure frees its step's row while its body runs on: the key's slot is the body's
    // until it returns, so no other step of the key (nor the retry) starts before then.
    const acts = new StubbornKeyed();
    harness = await createHarness(dialect, [acts, new FanKeyed(acts)], { concurrency: 8, pollInterval: '20ms', maxPollInterval: '100ms', lease: '5s' });
    const id = await harness.executor.dispatch(FanKeyed, [3]);
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    expect(result.value).toEqual(['rejected', 'rejected', 'rejected']);
    expect(keyed.most).toBe(1);
  });

  it.each([
    ['maxConcurrent 1', () => new StubbornCapped(), (acts: StubbornCapped) => new FanCapped(acts), FanCapped, capped],
    ['per-key concurrency 1', () => new StubbornKeyed(), (acts: StubbornKeyed) => new FanKeyed(acts), FanKeyed, keyed],
  ] as const)('%s holds when a claim built before a timed-out attempt was decided runs after its outcome is written', async (_limit, makeActs, makeFlow, flow, count) => {
    // The body outlives its attempt: the database stops counting the step once the outcome is written, and
    // a claim whose filter was built while the attempt ran does not count the body either.
    const set = await ExecutorSet.create(dialect);
    try {
      const store = holdClaimPastOutcome(await createStentStore({ database: set.db.options }), 1_500, count);
      const executor = new StentExecutor({ store, worker: { concurrency: 4, pollInterval: '20ms', maxPollInterval: '100ms', lease: '10s' }, logger: set.logger });
      set.onCleanup(() => executor.close('5s').catch(() => undefined));
      const acts = makeActs();
      executor.register(acts, makeFlow(acts as never));
      await executor.start();
      await executor.waitFor(await executor.dispatch(flow as typeof FanCapped, [2]), { timeout: '30s' });
      expect(count.most).toBe(1);
    } finally {
      await set.dispose();
    }
  });

  it('an activity that returns in time frees its slot and is not reported as ignoring its AbortSignal', async () => {
    const set = await ExecutorSet.create(dialect);
    try {
      const acts = new Racer();
      const executor = await set.executor([acts, new RaceFlow(acts)], { ...QUICK_WORKER, concurrency: 1 });
      const ids = await Promise.all([executor.dispatch(RaceFlow, []), executor.dispatch(RaceFlow, [])]);
      for (const id of ids) expect((await executor.waitFor(id, { timeout: '10s' })).value).toBe('qq');
      expect(set.logger.lines.filter((line) => line.level !== 'log')).toEqual([]);
    } finally {
      await set.dispose();
    }
  });

  it('cancel racing completion: the final state never changes afterwards and matches the result', async () => {
    const acts = new Racer();
    harness = await createHarness(dialect, [acts, new RaceFlow(acts)]);
    const ids = await Promise.all(Array.from({ length: 25 }, () => harness.executor.dispatch(RaceFlow, [])));
    const first = new Map<string, string>();
    await Promise.all(
      ids.map(async (id, i) => {
        await new Promise((resolve) => setTimeout(resolve, (i * 7) % 60));
        await harness.executor.cancel(id);
        first.set(id, (await harness.executor.waitFor(id, { timeout: '10s' })).state!);
      }),
    );
    // Late writes (an activity finishing after the cancel) must not move any of them out of its final state.
    await harness.executor.waitFor(await harness.executor.dispatch(RaceFlow, []), { timeout: '10s' });
    for (const id of ids) {
      const info = await harness.executor.getExecution(id);
      expect(info.state).toBe(first.get(id));
      if (info.state === 'completed') expect(info.result?.value).toBe('qq');
      else expect((info.result?.error as Error | undefined)?.name).toBe('WorkflowCancelledError');
      const journal = await harness.executor.getJournal(id);
      if (info.state === 'cancelled') expect(journal.filter((s) => s.state === 'pending' || s.state === 'waiting')).toEqual([]);
    }
  });
});
