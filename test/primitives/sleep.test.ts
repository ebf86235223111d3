import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, ManualClock, Stent, type WorkerOptions } from 'nestjs-stent';
import { BACKENDS } from '../support/databases.js';
import { createHarness, ExecutorSet, FAST_WORKER, type Harness } from '../support/executor-set.js';
import { nudgeUntil, SETTLE_BEFORE_BOUND_MS } from '../support/manual-time.js';
import { waitUntil } from '../support/wait.js';

class Napper {
  async run(duration: string): Promise<number> {
    const before = Stent.now().getTime();
    await Stent.sleep(duration);
    return before;
  }
}
defineWorkflow(Napper);

class Quick {
  async ping(n: number): Promise<number> {
    return n * 2;
  }
}
defineActivity(Quick);

class QuickFlow {
  constructor(private readonly quick: Quick) {}
  async run(n: number): Promise<number> {
    return this.quick.ping(n);
  }
}
defineWorkflow(QuickFlow);

describe.each(BACKENDS)('durable sleep on %s', (backend) => {
  let harness: Harness;
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await harness?.dispose();
    await set?.dispose();
    set = undefined;
  });

  it('records the absolute wake-up time: a worker restart mid-sleep does not start the timer over', async () => {
    // Time is what is tested, so it runs on a manual clock: the restart happens 3 s into a 4 s sleep.
    set = await ExecutorSet.create(backend);
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const worker: WorkerOptions = { concurrency: 2, pollInterval: '100ms', maxPollInterval: '1s', lease: '1d', suspendAfter: '30s' };
    const first = await set.executor([new Napper()], worker, true, clock);
    const started = clock.now();
    const id = await first.dispatch(Napper, ['4s']);
    const sleep = await waitUntil(async () => (await first.getJournal(id)).find((step) => step.kind === 'sleep'), 'the sleep to be journaled');
    const fireAt = sleep.fireAt!.getTime();
    expect(fireAt - started).toBe(4000);
    // The first worker stops holding the sleeping workflow in memory; 3 s later a second one takes over.
    await first.worker!.stop();
    clock.advance('3s');
    const second = await set.executor([new Napper()], worker, true, clock);
    await nudgeUntil(clock, async () => (await second.getExecution(id)).state === 'completed', 'the sleeper to finish', 100, 30_000, SETTLE_BEFORE_BOUND_MS);
    // a restarted timer would end at 3 s + 4 s after the start; the recorded one ends 4 s after it
    expect(clock.now()).toBeGreaterThanOrEqual(fireAt);
    expect(clock.now() - fireAt).toBeLessThan(2000);
    expect((await second.waitFor(id, { timeout: '1s' })).ok).toBe(true);
  });

  it('a sleeping workflow holds no slot and no memory: 200 hour-long sleepers do not block other work', async () => {
    harness = await createHarness(backend, [new Napper(), new Quick(), new QuickFlow(new Quick())], {
      ...FAST_WORKER,
      concurrency: 2,
      suspendAfter: '200ms',
    });
    const sleepers = await Promise.all(Array.from({ length: 200 }, () => harness.executor.dispatch(Napper, ['1h'])));
    // Suspended in the database and let go of here: a run leaves memory once its suspension is written,
    // a moment after the row shows it, so both are waited for.
    await waitUntil(
      async () =>
        harness.executor.worker!.stats().activeWorkflows === 0 &&
        (await harness.executor.listExecutions({ workflowName: 'Napper' }, { limit: 1000 })).items.every((e) => e.state === 'running' && e.leaseOwner === null),
      'all sleepers to be suspended and out of memory',
      60_000,
      100,
    );
    expect(harness.executor.worker!.stats().activeWorkflows).toBe(0);
    expect(harness.executor.worker!.stats().runningActivities).toBe(0);
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => harness.executor.dispatch(QuickFlow, [i])));
    const results = await Promise.all(ids.map((id) => harness.executor.waitFor(id, { timeout: '30s' })));
    expect(results.map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    const sleeping = await harness.executor.getExecution(sleepers[0]!);
    expect(sleeping.state).toBe('running');
    expect(sleeping.wakeAt!.getTime()).toBeGreaterThan(Date.now() + 3_500_000);
  });

  it('wakes a suspended sleeper when its time comes', async () => {
    harness = await createHarness(backend, [new Napper()], { ...FAST_WORKER, suspendAfter: '100ms' });
    const id = await harness.executor.dispatch(Napper, ['1500ms']);
    await waitUntil(async () => {
      const e = await harness.executor.getExecution(id);
      return e.leaseOwner === null && e.wakeAt !== null;
    }, 'the sleeper to be suspended');
    const result = await harness.executor.waitFor(id, { timeout: '20s' });
    expect(result.ok).toBe(true);
    const journal = await harness.executor.getJournal(id);
    expect(journal.find((s) => s.kind === 'sleep')!.state).toBe('completed');
  });
});
