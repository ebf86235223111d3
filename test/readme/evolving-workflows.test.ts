// The README's "Evolving workflows" examples, as written: a patch and continue-as-new.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { StentExecutor, Workflow, createStentStore, Stent } from 'nestjs-stent';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { importReadmeExample } from '../support/readme-example.js';
import { waitUntil } from '../support/wait.js';
import { OrderActivities, orderCalls, type Order } from './order.activities.js';
import { FEED_PAGES, FeedActivities } from './feed.activities.js';

// The fixtures the examples import ('./order.activities.js', './feed.activities.js') sit beside this file.
const here = dirname(fileURLToPath(import.meta.url));

/** OrderWorkflow as deployed before the patch. */
@Workflow({ name: 'OrderWorkflow' })
class OrderWorkflowV1 {
  constructor(private readonly acts: OrderActivities) {}
  async run(order: Order) {
    await this.acts.reserve(order);
    await Stent.waitForSignal('paid');
    return this.acts.ship(order);
  }
}

describe('the README evolving-workflows examples, as written', () => {
  let db: TestDatabase | undefined;
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await db?.dispose();
  });

  async function executorWith(...items: object[]): Promise<StentExecutor> {
    const executor = new StentExecutor({ store: await createStentStore({ database: db!.options }) });
    executor.register(...items);
    await executor.start();
    cleanups.push(() => executor.close());
    return executor;
  }

  it('takes the patched path in a new execution and the old one in an execution started before the patch', async () => {
    db = await createTestDatabase('sqlite');
    const { module, cleanup } = await importReadmeExample<{ OrderWorkflow: new (acts: OrderActivities) => object }>('Evolving workflows', { block: 1, dir: here });
    cleanups.push(cleanup);
    const acts = new OrderActivities();
    orderCalls.length = 0;

    const before = await executorWith(acts, new OrderWorkflowV1(acts));
    const old = await before.dispatch(OrderWorkflowV1, [{ id: 'old' }]);
    await waitUntil(async () => (await before.getJournal(old)).some((s) => s.kind === 'signal'), 'the old execution waits for paid');
    await before.close();

    const after = await executorWith(acts, new module.OrderWorkflow(acts));
    const fresh = await after.dispatch(module.OrderWorkflow, [{ id: 'new' }]);
    await waitUntil(async () => (await after.getJournal(fresh)).some((s) => s.kind === 'signal'), 'the new execution waits for paid');
    await after.sendSignal(old, 'paid', null);
    await after.sendSignal(fresh, 'paid', null);
    expect((await after.waitFor(old, { timeout: '20s' })).unwrap()).toBe('shipped old');
    expect((await after.waitFor(fresh, { timeout: '20s' })).unwrap()).toBe('shipped new');

    expect(orderCalls.filter((c) => c.endsWith(' old'))).toEqual(['reserve old', 'ship old']);
    expect(orderCalls.filter((c) => c.endsWith(' new'))).toEqual(['reserve new', 'checkFraud new', 'ship new']);
    expect((await after.getJournal(fresh)).map((s) => s.name)).toContain('patch:fraud-check');
    expect((await after.getJournal(old)).map((s) => s.name)).not.toContain('patch:fraud-check');
  });

  it('continues as new every 500 pages and waitFor follows the chain to the total', async () => {
    db = await createTestDatabase('sqlite');
    const { module, cleanup } = await importReadmeExample<{ FeedWorkflow: new (feed: FeedActivities) => object }>('Evolving workflows', { block: 2, dir: here });
    cleanups.push(cleanup);
    const feed = new FeedActivities();
    const executor = await executorWith(feed, new module.FeedWorkflow(feed));
    const id = await executor.dispatch(module.FeedWorkflow, ['0']);
    expect((await executor.waitFor(id, { timeout: '60s' })).unwrap()).toBe(FEED_PAGES * 2);
    const first = await executor.getExecution(id);
    expect(first.continuedAs).toBeTruthy();
    expect((await executor.getJournal(id)).filter((s) => s.kind === 'activity')).toHaveLength(500);
  }, 90_000);
});
