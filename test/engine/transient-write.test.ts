import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { finalStateOf } from '../support/wait.js';

class IncrementActs {
  async step(x: number): Promise<number> {
    return x + 1;
  }
}
defineActivity(IncrementActs, { name: 'IncrementActs' });

class TwoIncrements {
  constructor(private readonly acts: IncrementActs) {}
  async run(): Promise<number> {
    const a = await this.acts.step(1);
    return this.acts.step(a);
  }
}
defineWorkflow(TwoIncrements, { name: 'TwoIncrements' });

describe.each(DIALECTS)('a journal write that fails once on %s', (dialect) => {
  let set: ExecutorSet;
  afterEach(async () => {
    await set?.dispose();
  });

  it('the abandoned run is replayed and completes (its lease is not renewed forever by the worker that gave it up)', async () => {
    set = await ExecutorSet.create(dialect);
    const store = await createStentStore({ database: set.db.options });
    const insertSteps = store.insertSteps.bind(store);
    let failures = 0;
    store.insertSteps = async (...args: Parameters<typeof insertSteps>) => {
      if (failures === 0) {
        failures++;
        throw new Error('connection reset by peer (injected, once)');
      }
      return insertSteps(...args);
    };
    const acts = new IncrementActs();
    const ex = new StentExecutor({ store, worker: { concurrency: 4, pollInterval: '20ms', maxPollInterval: '200ms', lease: '2s' }, logger: set.logger });
    ex.register(acts, new TwoIncrements(acts));
    set.onCleanup(() => ex.close('1s').catch(() => undefined));
    await ex.start();
    const id = await ex.dispatch(TwoIncrements, []);
    // lease 2 s: three lease periods are plenty for the reaper to hand it back
    const state = await finalStateOf(ex, id, '8s');
    const info = await ex.getExecution(id);
    expect({ failures, state, leaseOwner: info.leaseOwner === ex.worker!.ownerId ? 'this worker (renewed by its heartbeat)' : info.leaseOwner }).toEqual({
      failures: 1,
      state: 'completed',
      leaseOwner: null,
    });
  });
});
