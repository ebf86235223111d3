import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, FAST_WORKER, type Harness } from '../support/harness.js';
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

describe.each(DIALECTS)('durable sleep on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  it('records the absolute wake-up time: a worker restart mid-sleep does not start the timer over', async () => {
    harness = await createHarness(dialect, [new Napper()], { ...FAST_WORKER, suspendAfter: '30s' });
    const started = Date.now();
    const id = await harness.executor.dispatch(Napper, ['4s']);
    await waitUntil(async () => (await harness.executor.getJournal(id)).some((step) => step.kind === 'sleep'), 'the sleep to be journaled');
    const journal = await harness.executor.getJournal(id);
    const fireAt = journal.find((step) => step.kind === 'sleep')!.fireAt!.getTime();
    // The first worker stops holding the sleeping workflow in memory; a second one takes over.
    await harness.executor.worker!.stop();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const second = await harness.spawn(FAST_WORKER, new Napper());
    const result = await second.waitFor(id, { timeout: '20s' });
    const finished = Date.now();
    expect(result.ok).toBe(true);
    expect(finished).toBeGreaterThanOrEqual(fireAt);
    // a restarted timer would end at >= stop + 3s + 4s (about started + 7s); the original ends at started + 4s
    expect(finished - fireAt).toBeLessThan(2400);
    expect(fireAt - started).toBeGreaterThanOrEqual(3900);
    expect(fireAt - started).toBeLessThan(4900);
  });

  it('a sleeping workflow holds no slot and no memory: 200 hour-long sleepers do not block other work', async () => {
    harness = await createHarness(dialect, [new Napper(), new Quick(), new QuickFlow(new Quick())], {
      ...FAST_WORKER,
      concurrency: 2,
      suspendAfter: '200ms',
    });
    const sleepers = await Promise.all(Array.from({ length: 200 }, () => harness.executor.dispatch(Napper, ['1h'])));
    await waitUntil(
      async () => (await harness.executor.listExecutions({ workflowName: 'Napper' }, { limit: 1000 })).items.every((e) => e.state === 'running' && e.leaseOwner === null),
      'all sleepers to be suspended',
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
    harness = await createHarness(dialect, [new Napper()], { ...FAST_WORKER, suspendAfter: '100ms' });
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
