import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, ManualClock, StentExecutor, type StentStore } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { resultsOnStandingClock } from '../support/manual-time.js';

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

    const id = await executor.dispatch(SyncsInARow, ['acme']);
    const [result] = await resultsOnStandingClock(executor, [id], claimed);
    expect(result.ok && result.value).toEqual(['acme:0', 'acme:1', 'acme:2', 'acme:3']);
    // Only the first call went through a claim; the second, third and fourth were inserted running.
    expect(claimed).toEqual([0]);
  });
});
