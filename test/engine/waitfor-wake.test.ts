import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, ManualClock, StentExecutor, type StentStore } from 'nestjs-stent';
import { DIALECTS, listenerPids, POSTGRES_URL } from '../support/databases.js';
import { ExecutorSet, Gate } from '../support/executor-set.js';
import { overrideStore } from '../support/store-proxy.js';
import { waitUntil, within } from '../support/wait.js';

let gate = new Gate();

class WakeLatch {
  async pass(): Promise<string> {
    await gate.wait();
    return 'done';
  }
}
defineActivity(WakeLatch, { name: 'WakeLatch' });

class WakeLatchFlow {
  constructor(private readonly latch: WakeLatch) {}
  async run(): Promise<string> {
    return this.latch.pass();
  }
}
defineWorkflow(WakeLatchFlow, { name: 'WakeLatchFlow' });

/**
 * The first read of a running execution lets the workflow end while the read is out, and answers with the
 * row as it was only once the end has been announced: the announcement comes while no wait is under way.
 */
function endDuringFirstRead(store: StentStore): StentStore {
  let announced = false;
  store.subscribe((event) => {
    if (event.type === 'finished') announced = true;
  });
  let held = false;
  return overrideStore(store, {
    async getExecution(...args: Parameters<StentStore['getExecution']>) {
      const row = await store.getExecution(...args);
      if (!held && row?.state === 'running') {
        held = true;
        gate.open();
        await waitUntil(() => announced, 'the end to be announced');
      }
      return row;
    },
  });
}

describe.each(DIALECTS)('waitFor and an end announced while it reads (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    gate.open();
    await set?.dispose();
    set = undefined;
    gate = new Gate();
  });

  it('an execution that ends elsewhere while waitFor reads it is seen at once, not a poll later', async () => {
    set = await ExecutorSet.create(dialect);
    const latch = new WakeLatch();
    const worker = await set.executor([latch, new WakeLatchFlow(latch)]);
    // The waiting client's clock stands still, so its polls never come: only the wake-up can end the wait.
    const store = endDuringFirstRead(await createStentStore({ database: set.db.options }));
    const client = new StentExecutor({ store, worker: false, logger: set.logger, clock: new ManualClock(Date.now()) });
    set.onCleanup(() => client.close('2s').catch(() => undefined));
    await client.start();
    // The end reaches the client only as a notification (its clock never polls): on PostgreSQL, wait until
    // both its listener and the worker's are up, which a loaded server can take a while to allow.
    if (dialect === 'postgres') await waitUntil(async () => (await listenerPids(POSTGRES_URL, set!.db.schema!)).length >= 2, 'the worker and the client to LISTEN');

    const id = await worker.dispatch(WakeLatchFlow, []);
    await waitUntil(() => gate.entered === 1, 'the activity to run');
    const result = await within(client.waitFor<string>(id), 20_000, 'waitFor missed the end announced during its read');
    expect(result.ok && result.value).toBe('done');
  });
});
