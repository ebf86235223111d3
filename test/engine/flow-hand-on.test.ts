import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, ManualClock, StentExecutor, type StentStore } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
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

/** One keyed call. */
class OneSync {
  constructor(private readonly acts: TenantSync) {}
  async run(tenant: string): Promise<string> {
    return this.acts.sync(tenant, 0);
  }
}
defineWorkflow(OneSync, { name: 'HandOnOneSync' });

/** Counts the keyed steps the store's claims hand out (what the worker took through a claim, not at insert). */
function countClaims(store: StentStore): number[] {
  const claimed: number[] = [];
  const claimSteps = store.claimSteps.bind(store);
  store.claimSteps = async (filter) => {
    const steps = await claimSteps(filter);
    for (const step of steps) if (step.name === KEYED) claimed.push(step.position);
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

  it('a slot not handed on is counted free by claims only while its result waits for a write', async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = await createStentStore({ database: set.db.options });
    // What each claim of steps was told had finished here (ClaimFilter.finishedHere), and what it took.
    const claims: Array<{ finishedHere: string[]; took: string[] }> = [];
    const claimSteps = store.claimSteps.bind(store);
    store.claimSteps = async (filter) => {
      const steps = await claimSteps(filter);
      claims.push({ finishedHere: [...(filter.finishedHere ?? [])], took: steps.map((step) => step.id) });
      return steps;
    };
    const acts = new TenantSync();
    const executor = new StentExecutor({ store, worker: { concurrency: 4, lease: '1d' }, logger: set.logger, clock });
    set.onCleanup(() => executor.close('2s'));
    executor.register(acts, new OneSync(acts));
    await executor.start();

    // The clock moves on while waiting, so the worker's polls back up its wake events (time stays far
    // below the 10 s a released slot could be kept).
    const finished = async (id: string) => {
      await waitUntil(async () => {
        clock.advance('20ms');
        return (await executor.getExecution(id)).state === 'completed';
      }, `execution ${id} to complete`);
      return executor.waitFor(id, { timeout: '1s' });
    };
    const first = await finished(await executor.dispatch(OneSync, ['acme']));
    expect(first.ok && first.value).toBe('acme:0');
    const firstStep = claims.flatMap((claim) => claim.took);
    expect(firstStep).toHaveLength(1);
    // The run ended with its result written; its slot, never handed on, is released to claims after HAND_ON_MS.
    clock.advance('100ms');
    const before = claims.length;
    const second = await finished(await executor.dispatch(OneSync, ['acme']));
    expect(second.ok && second.value).toBe('acme:0');
    const later = claims.slice(before);
    expect(later.some((claim) => claim.took.length > 0)).toBe(true);
    // Its step is completed in the database: no later claim is sent its id (each claim sends the list).
    for (const claim of later) expect(claim.finishedHere).not.toContain(firstStep[0]);
  });
});
