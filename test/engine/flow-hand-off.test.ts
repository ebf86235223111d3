import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, ManualClock, StentExecutor, type StentStore } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { resultsOnStandingClock } from '../support/manual-time.js';
import { waitUntil } from '../support/wait.js';

const KEYED = 'HandOffTenantSync.sync';

/** Bodies of the keyed activity running right now, per tenant, the most seen at once, and the calls in start order. */
const running = new Map<string, number>();
let peak = 0;
const calls: string[] = [];
/** While set, the call of this batch waits for it to settle. */
let gate: { batch: number; open: Promise<void>; entered: () => void } | undefined;

class TenantSync {
  async sync(tenant: string, batch: number): Promise<string> {
    const now = (running.get(tenant) ?? 0) + 1;
    running.set(tenant, now);
    peak = Math.max(peak, now);
    calls.push(`${tenant}:${batch}`);
    if (gate?.batch === batch) {
      gate.entered();
      await gate.open;
    }
    await new Promise((resolve) => setImmediate(resolve));
    running.set(tenant, now - 1);
    return `${tenant}:${batch}`;
  }
}
defineActivity(TenantSync, { name: 'HandOffTenantSync', concurrency: { key: (args) => args[0] as string, limit: 1 } });

/** Two calls of one tenant's keyed activity in a row: the second takes the first's slot (hand-on). */
class TwoSyncs {
  constructor(private readonly acts: TenantSync) {}
  async run(tenant: string, id: number): Promise<string[]> {
    return [await this.acts.sync(tenant, id * 10), await this.acts.sync(tenant, id * 10 + 1)];
  }
}
defineWorkflow(TwoSyncs, { name: 'HandOffTwoSyncs' });

/** The keyed steps the store's claims hand out (taken through a claim round, not handed on or off). */
function countClaims(store: StentStore): Array<{ executionId: string; position: number }> {
  const claimed: Array<{ executionId: string; position: number }> = [];
  const claimSteps = store.claimSteps.bind(store);
  store.claimSteps = async (filter) => {
    const steps = await claimSteps(filter);
    for (const step of steps) if (step.name === KEYED) claimed.push({ executionId: step.executionId, position: step.position });
    return steps;
  };
  return claimed;
}

describe.each(DIALECTS)('slot hand-off (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
    running.clear();
    peak = 0;
    calls.length = 0;
    gate = undefined;
  });

  it("a run's last keyed call gives its slot, in the write of its ending, to the next pending step of its key", async () => {
    set = await ExecutorSet.create(dialect);
    // The clock stands still: a slot is never released to claims by time, so every hand-on and hand-off is certain.
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = await createStentStore({ database: set.db.options });
    const claimed = countClaims(store);
    const acts = new TenantSync();
    const executor = new StentExecutor({ store, worker: { concurrency: 4, lease: '1d' }, logger: set.logger, clock });
    set.onCleanup(() => executor.close('2s'));
    executor.register(acts, new TwoSyncs(acts));
    await executor.start();

    // Three runs of one tenant (limit 1): their first calls wait in the key's queue together.
    const ids = await Promise.all([0, 1, 2].map((i) => executor.dispatch(TwoSyncs, ['acme', i])));
    const results = await resultsOnStandingClock(executor, ids, claimed);
    expect(results.map((result) => result.ok && result.value)).toEqual([
      ['acme:0', 'acme:1'],
      ['acme:10', 'acme:11'],
      ['acme:20', 'acme:21'],
    ]);
    // One claim took the first run's first call; every later step got its slot from the step before it:
    // a run's second call by hand-on, the next run's first call by hand-off when the run before it ended.
    expect(claimed).toHaveLength(1);
    expect(claimed[0]!.position).toBe(0);
    expect(peak).toBe(1);
    // The key's steps ran one after another: each started no earlier than the one before it finished.
    const steps = (await store.loadJournal(ids[0]!)).concat(await store.loadJournal(ids[1]!), await store.loadJournal(ids[2]!));
    expect(steps.every((step) => step.state === 'completed' && step.leaseOwner === null)).toBe(true);
  });

  it('a slot handed off goes to the highest-priority pending step of its key; another key is claimed on its own', async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = await createStentStore({ database: set.db.options });
    const claimed = countClaims(store);
    const acts = new TenantSync();
    const executor = new StentExecutor({ store, worker: { concurrency: 4, lease: '1d' }, logger: set.logger, clock });
    set.onCleanup(() => executor.close('2s'));
    executor.register(acts, new TwoSyncs(acts));
    await executor.start();

    // The first run holds acme's only slot until the gate opens; meanwhile a low-priority and then a
    // high-priority run of acme wait for it, and a run of another tenant is claimed on its own.
    let open!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    gate = { batch: 0, open: new Promise<void>((resolve) => (open = resolve)), entered };
    const first = await executor.dispatch(TwoSyncs, ['acme', 0]);
    await inside;
    const low = await executor.dispatch(TwoSyncs, ['acme', 1], { priority: 0 });
    const high = await executor.dispatch(TwoSyncs, ['acme', 2], { priority: 5 });
    const other = await executor.dispatch(TwoSyncs, ['globex', 3]);
    expect((await resultsOnStandingClock(executor, [other], claimed))[0]!.ok).toBe(true);
    await waitForPending(store, [low, high]);
    open();
    for (const result of await resultsOnStandingClock(executor, [first, low, high], claimed)) expect(result.ok).toBe(true);

    expect(calls.filter((call) => call.startsWith('acme:'))).toEqual(['acme:0', 'acme:1', 'acme:20', 'acme:21', 'acme:10', 'acme:11']);
    // Claimed: the first call of the first run and of the other tenant's run; the rest came by hand-on or hand-off.
    expect(claimed.map((c) => c.executionId).sort()).toEqual([first, other].sort());
    expect(peak).toBe(1);
  });
});

/** Waits until the first calls of `ids` are recorded (pending: their key is full). */
async function waitForPending(store: StentStore, ids: string[]): Promise<void> {
  await waitUntil(async () => {
    const journals = await Promise.all(ids.map((id) => store.loadJournal(id)));
    return journals.every((steps) => steps.some((step) => step.position === 0 && step.state === 'pending'));
  }, 'the waiting runs to record their first calls');
}
