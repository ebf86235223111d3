import { describe, expect, it } from 'vitest';
import { ActivityFailedError, createStentStore, defineActivity, defineWorkflow, setActivityMethodOptions, Stent, StentExecutor, type StentStore, type WorkerOptions } from 'nestjs-stent';
import { BACKENDS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { overrideStore } from '../support/store-proxy.js';
import { waitUntil } from '../support/wait.js';

/** Counts its attempts; with 'fail' every attempt fails, otherwise only the first. */
class Gateway {
  attempts = 0;
  async charge(outcome: string): Promise<string> {
    this.attempts++;
    if (outcome === 'fail') throw new Error('gateway down');
    if (this.attempts === 1) throw new Error('gateway busy');
    return 'charged';
  }
}
defineActivity(Gateway, { name: 'Gateway', retry: { maxAttempts: 2, initialDelay: '10ms', jitter: false } });

class Charge {
  constructor(private readonly gateway: Gateway) {}
  async run(outcome: string): Promise<string> {
    try {
      return await this.gateway.charge(outcome);
    } catch (error) {
      return `caught ${(error as ActivityFailedError).name}`;
    }
  }
}
defineWorkflow(Charge, { name: 'Charge' });

/**
 * The write of a retry's outcome returns only once the next attempt has run (or 5 s passed): on a loaded
 * machine a claim round can take the step again, and its attempt can end, between that write's commit and
 * the moment the worker hears the write is done.
 */
function slowRetryWrites(store: StentStore, gateway: { attempts: number }): StentStore {
  return overrideStore(store, {
    async completeSteps(...args: Parameters<StentStore['completeSteps']>) {
      const owned = await store.completeSteps(...args);
      if (args[0].some((completion) => completion.outcome.kind === 'retry')) {
        await waitUntil(() => gateway.attempts >= 2, 'the next attempt', 5_000).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return owned;
    },
  });
}

/** Bodies running now and the most seen at once. */
const bodies = { now: 0, most: 0 };
async function body(ms: number): Promise<void> {
  bodies.now++;
  bodies.most = Math.max(bodies.most, bodies.now);
  await new Promise((resolve) => setTimeout(resolve, ms));
  bodies.now--;
}

/** slow()'s first attempt times out after 100 ms and ignores its AbortSignal: the body runs 1.5 s. */
class Stubborn {
  attempts = 0;
  async slow(): Promise<string> {
    this.attempts++;
    await body(this.attempts === 1 ? 1_500 : 10);
    return 'done';
  }
  async plain(): Promise<string> {
    await body(300);
    return 'plain';
  }
}
setActivityMethodOptions(Stubborn.prototype, 'plain', { timeout: '10s' });
defineActivity(Stubborn, { name: 'Stubborn', timeout: '100ms', retry: { maxAttempts: 2, initialDelay: '10ms', jitter: false } });

class StubbornFan {
  constructor(private readonly acts: Stubborn) {}
  async run(): Promise<string[]> {
    const slow = this.acts.slow();
    // By then the first attempt of slow() has timed out and its retry has started (and ended).
    await Stent.sleep('300ms');
    return Promise.all([slow, this.acts.plain(), this.acts.plain(), this.acts.plain()]);
  }
}
defineWorkflow(StubbornFan, { name: 'StubbornFan' });

/** A started executor on `set`'s database whose retries' writes return late (see slowRetryWrites). */
async function startWithSlowRetryWrites(set: ExecutorSet, attempts: { attempts: number }, instances: object[], worker: WorkerOptions): Promise<StentExecutor> {
  const store = slowRetryWrites(await createStentStore({ database: set.db.options }), attempts);
  const executor = new StentExecutor({ store, worker, logger: set.logger });
  set.onCleanup(() => executor.close('5s').catch(() => undefined));
  executor.register(...instances);
  await executor.start();
  return executor;
}

describe.each(BACKENDS)('an attempt that ends before the write of the retry before it returns, on %s', (backend) => {
  it.each([
    ['fails for good', 'fail', 'caught ActivityFailedError'],
    ['succeeds', 'flaky', 'charged'],
  ])('the workflow still gets the outcome of the attempt that %s', async (_case, outcome, expected) => {
    const set = await ExecutorSet.create(backend);
    try {
      const gateway = new Gateway();
      const executor = await startWithSlowRetryWrites(set, gateway, [gateway, new Charge(gateway)], QUICK_WORKER);
      const id = await executor.dispatch(Charge, [outcome]);
      const done = await executor.waitFor(id, { timeout: '20s' });
      expect(gateway.attempts).toBe(2);
      expect(done.value).toBe(expected);
    } finally {
      await set.dispose();
    }
  });

  it('a timed-out body that runs on keeps its slot when the next attempt starts before the retry is known written', async () => {
    const set = await ExecutorSet.create(backend);
    bodies.now = bodies.most = 0;
    try {
      const acts = new Stubborn();
      const executor = await startWithSlowRetryWrites(set, acts, [acts, new StubbornFan(acts)], { ...QUICK_WORKER, concurrency: 2 });
      const done = await executor.waitFor(await executor.dispatch(StubbornFan, []), { timeout: '20s' });
      expect({ state: done.state, error: (done.error as Error | undefined)?.message, value: done.value }).toEqual({ state: 'completed', error: undefined, value: ['done', 'plain', 'plain', 'plain'] });
      expect(bodies.most).toBeLessThanOrEqual(2);
    } finally {
      await set.dispose();
    }
  });
});
