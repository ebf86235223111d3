import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, ManualClock, StentExecutor, type StentStore } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, Gate } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

const KEYED = 'HandOnTenantSync.sync';

class TenantSync {
  async sync(tenant: string, batch: number): Promise<string> {
    return `${tenant}:${batch}`;
  }
}
defineActivity(TenantSync, { name: 'HandOnTenantSync', concurrency: { key: (args) => args[0] as string, limit: 1 } });

/** Four calls of one tenant's keyed activity in a row. */
class SyncsInARow {
  constructor(private readonly acts: TenantSync) {}
  async run(tenant: string): Promise<string[]> {
    const done: string[] = [];
    for (let batch = 0; batch < 4; batch++) done.push(await this.acts.sync(tenant, batch));
    return done;
  }
}
defineWorkflow(SyncsInARow, { name: 'HandOnSyncsInARow' });

/** One call of a keyed activity a workflow; the first body waits at a gate, and the bodies running at once are counted. */
class TenantPush {
  readonly order: number[] = [];
  readonly gate = new Gate();
  private running = 0;
  maxRunning = 0;
  async push(tenant: string, index: number): Promise<string> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (index === 0) await this.gate.wait();
      this.order.push(index);
      return `${tenant}:${index}`;
    } finally {
      this.running--;
    }
  }
}
defineActivity(TenantPush, { name: 'HandOverTenantPush', concurrency: { key: (args) => args[0] as string, limit: 1 } });

class PushesOnce {
  constructor(private readonly acts: TenantPush) {}
  async run(tenant: string, index: number): Promise<string> {
    return this.acts.push(tenant, index);
  }
}
defineWorkflow(PushesOnce, { name: 'HandOverPushesOnce' });

/** Counts the keyed steps the store's claims hand out (what the worker took through a claim, not at insert). */
function countClaims(store: StentStore, name = KEYED): number[] {
  const claimed: number[] = [];
  const claimSteps = store.claimSteps.bind(store);
  store.claimSteps = async (filter) => {
    const steps = await claimSteps(filter);
    for (const step of steps) if (step.name === name) claimed.push(step.position);
    return steps;
  };
  return claimed;
}

describe.each(DIALECTS)('slot hand-on (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it("every later call of a keyed chain takes its predecessor's slot in the write of its result, not through a claim", async () => {
    set = await ExecutorSet.create(dialect);
    // The clock stands still: a slot is never released to claims by time, so each hand-on is certain.
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = await createStentStore({ database: set.db.options });
    const claimed = countClaims(store);
    const acts = new TenantSync();
    const executor = new StentExecutor({ store, worker: { concurrency: 4, lease: '1d' }, logger: set.logger, clock });
    set.onCleanup(() => executor.close('2s'));
    executor.register(acts, new SyncsInARow(acts));
    await executor.start();

    const result = await executor.waitFor(await executor.dispatch(SyncsInARow, ['acme']), { timeout: '30s' });
    expect(result.ok && result.value).toEqual(['acme:0', 'acme:1', 'acme:2', 'acme:3']);
    // Only the first call went through a claim; the second, third and fourth were inserted running.
    expect(claimed).toEqual([0]);
  });

  it("a run's ending hands its key's slot to a step another run held here waits on, in the ending's write, never over the limit", async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = await createStentStore({ database: set.db.options });
    const claimed = countClaims(store, 'HandOverTenantPush.push');
    const acts = new TenantPush();
    const executor = new StentExecutor({ store, worker: { concurrency: 8, lease: '1d' }, logger: set.logger, clock });
    set.onCleanup(() => executor.close('2s'));
    executor.register(acts, new PushesOnce(acts));
    await executor.start();

    const workflows = 5;
    // The first call takes the key's slot and holds it at the gate; the others are recorded pending meanwhile.
    const ids = [await executor.dispatch(PushesOnce, ['acme', 0])];
    await waitUntil(() => acts.gate.entered === 1, 'the first call to run');
    for (let index = 1; index < workflows; index++) ids.push(await executor.dispatch(PushesOnce, ['acme', index]));
    await waitUntil(async () => {
      const journals = await Promise.all(ids.map((id) => executor.getJournal(id)));
      return journals.every((journal) => journal.some((step) => step.kind === 'activity'));
    }, 'every run to record its call');
    acts.gate.open();

    const results = await Promise.all(ids.map((id) => executor.waitFor(id, { timeout: '30s' })));
    expect(results.map((result) => result.ok && result.value)).toEqual(ids.map((_, index) => `acme:${index}`));
    expect(acts.maxRunning).toBe(1);
    // One claim gave the key its slot; each ending handed it to the next waiting call.
    expect(claimed).toHaveLength(1);
    expect(acts.order).toHaveLength(workflows);
  });
});
