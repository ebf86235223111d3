import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ActivityFailedError, defineActivity, defineWorkflow, setActivityMethodOptions } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, FAST_WORKER, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/**
 * Each body counts its runs and returns a fresh uuid, so a reused stored result is told apart from a
 * new run by its value as well as by the counter.
 */
class Billing {
  readonly runs: Record<string, number> = {};
  private count(name: string): number {
    this.runs[name] = (this.runs[name] ?? 0) + 1;
    return this.runs[name]!;
  }
  async charge(orderId: string, cents: number): Promise<string> {
    this.count('charge');
    return `charged ${orderId} ${cents} #${randomUUID()}`;
  }
  async lookup(customer: string, requestId: string): Promise<string> {
    this.count('lookup');
    return `profile of ${customer} (first asked by ${requestId}) #${randomUUID()}`;
  }
  async quote(item: string): Promise<string> {
    this.count('quote');
    return `quote for ${item} #${randomUUID()}`;
  }
  async rate(item: string): Promise<string> {
    this.count('rate');
    return `rate for ${item} #${randomUUID()}`;
  }
  async fragile(item: string): Promise<string> {
    if (this.count('fragile') === 1) throw new Error('the first call fails');
    return `fragile ${item} #${randomUUID()}`;
  }
  async plain(item: string): Promise<string> {
    this.count('plain');
    return `plain ${item} #${randomUUID()}`;
  }
}
const QUOTE_TTL_MS = 2000;
setActivityMethodOptions(Billing.prototype, 'charge', { idempotent: true });
setActivityMethodOptions(Billing.prototype, 'lookup', { idempotent: true, key: (customer: string) => `customer:${customer}` });
setActivityMethodOptions(Billing.prototype, 'quote', { cached: { ttl: QUOTE_TTL_MS } });
setActivityMethodOptions(Billing.prototype, 'rate', { cached: true });
setActivityMethodOptions(Billing.prototype, 'fragile', { idempotent: true, retry: { maxAttempts: 1 } });
defineActivity(Billing);

type BillingMethod = 'charge' | 'lookup' | 'quote' | 'rate' | 'fragile' | 'plain';

class BillingFlow {
  constructor(private readonly billing: Billing) {}
  async run(method: BillingMethod, args: unknown[]): Promise<string> {
    const fn = this.billing[method] as (...a: unknown[]) => Promise<string>;
    return fn.apply(this.billing, args);
  }
}
defineWorkflow(BillingFlow);

// ---- version: two builds of one activity ('Versioned.op'), before and after a version bump --------------

class VersionedV1 {
  runs = 0;
  async op(x: string): Promise<string> {
    this.runs++;
    return `v1 ${x} #${randomUUID()}`;
  }
}
defineActivity(VersionedV1, { name: 'Versioned', idempotent: true, version: 1 });

class VersionedV2 {
  runs = 0;
  async op(x: string): Promise<string> {
    this.runs++;
    return `v2 ${x} #${randomUUID()}`;
  }
}
defineActivity(VersionedV2, { name: 'Versioned', idempotent: true, version: 2 });

class VersionedFlow {
  constructor(private readonly acts: VersionedV1 | VersionedV2) {}
  async run(x: string): Promise<string> {
    return this.acts.op(x);
  }
}
defineWorkflow(VersionedFlow);

// ---- dispatch idempotencyKey -------------------------------------------------------------------------

/** Counts its runs in a dependency (each execution runs on its own workflow object). */
class Order {
  constructor(private readonly counter: { runs: number }) {}
  async run(what: string): Promise<string> {
    this.counter.runs++;
    return what;
  }
}
defineWorkflow(Order);

describe.each(DIALECTS)('idempotency and caching on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  async function call(method: BillingMethod, ...args: unknown[]): Promise<string> {
    const id = await harness.executor.dispatch(BillingFlow, [method, args]);
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    if (!result.ok) throw result.error;
    return result.value as string;
  }

  async function finishedAt(id: string): Promise<number> {
    const [step] = await harness.executor.getJournal(id);
    return step!.finishedAt!.getTime();
  }

  it('an idempotent activity called by two executions with the same arguments runs once; the second gets the stored result', async () => {
    const billing = new Billing();
    harness = await createHarness(dialect, [billing, new BillingFlow(billing)]);
    const first = await call('charge', 'order-1', 1999);
    expect(first).toMatch(/^charged order-1 1999 #/);
    const second = await call('charge', 'order-1', 1999);
    expect(second).toBe(first);
    expect(billing.runs.charge).toBe(1);

    // different arguments run the body again
    const other = await call('charge', 'order-1', 2500);
    expect(other).not.toBe(first);
    expect(billing.runs.charge).toBe(2);
    const third = await call('charge', 'order-2', 1999);
    expect(third).not.toBe(first);
    expect(billing.runs.charge).toBe(3);

    // a plain activity runs every time (the control)
    const p1 = await call('plain', 'x');
    const p2 = await call('plain', 'x');
    expect(p1).not.toBe(p2);
    expect(billing.runs.plain).toBe(2);
  });

  it('the stored result is reused by another worker on the same database', async () => {
    const billing = new Billing();
    harness = await createHarness(dialect, [billing, new BillingFlow(billing)]);
    const first = await call('charge', 'order-9', 100);
    await harness.executor.drain(0);
    const billingB = new Billing();
    const b = await harness.spawn(FAST_WORKER, billingB, new BillingFlow(billingB));
    const id = await b.dispatch(BillingFlow, ['charge', ['order-9', 100]]);
    const result = await b.waitFor(id, { timeout: '30s' });
    expect(result.value).toBe(first);
    expect(billingB.runs.charge).toBeUndefined();
    expect(billing.runs.charge).toBe(1);
  });

  it('a key function decides what counts as the same call', async () => {
    const billing = new Billing();
    harness = await createHarness(dialect, [billing, new BillingFlow(billing)]);
    const first = await call('lookup', 'alice', 'req-1');
    // another request id, same key (customer): reused
    expect(await call('lookup', 'alice', 'req-2')).toBe(first);
    expect(billing.runs.lookup).toBe(1);
    // another customer: runs
    const bob = await call('lookup', 'bob', 'req-1');
    expect(bob).not.toBe(first);
    expect(bob).toMatch(/^profile of bob/);
    expect(billing.runs.lookup).toBe(2);
  });

  it('bumping the version runs the body again for the same arguments', async () => {
    const v1 = new VersionedV1();
    harness = await createHarness(dialect, [v1, new VersionedFlow(v1)]);
    const id1 = await harness.executor.dispatch(VersionedFlow, ['x']);
    const r1 = (await harness.executor.waitFor(id1, { timeout: '30s' })).value as string;
    expect(r1).toMatch(/^v1 x #/);
    // the deploy of version 2: the old worker is gone
    await harness.executor.drain(0);
    const v2 = new VersionedV2();
    const b = await harness.spawn(FAST_WORKER, v2, new VersionedFlow(v2));
    const id2 = await b.dispatch(VersionedFlow, ['x']);
    const r2 = (await b.waitFor(id2, { timeout: '30s' })).value as string;
    expect(r2).toMatch(/^v2 x #/);
    const id3 = await b.dispatch(VersionedFlow, ['x']);
    expect((await b.waitFor(id3, { timeout: '30s' })).value).toBe(r2);
    expect(v1.runs).toBe(1);
    expect(v2.runs).toBe(1);
  });

  it('a failed call is not stored: the next call with the same arguments runs the body', async () => {
    const billing = new Billing();
    harness = await createHarness(dialect, [billing, new BillingFlow(billing)]);
    const failedId = await harness.executor.dispatch(BillingFlow, ['fragile', ['item']]);
    const failed = await harness.executor.waitFor(failedId, { timeout: '30s' });
    expect(failed.ok).toBe(false);
    expect(failed.error).toBeInstanceOf(ActivityFailedError);
    const ok = await call('fragile', 'item');
    expect(ok).toMatch(/^fragile item #/);
    expect(billing.runs.fragile).toBe(2);
    expect(await call('fragile', 'item')).toBe(ok);
    expect(billing.runs.fragile).toBe(2);
  });

  it('cached: { ttl } reuses the result until the ttl has passed, then runs again', async () => {
    const billing = new Billing();
    harness = await createHarness(dialect, [billing, new BillingFlow(billing)]);
    const firstId = await harness.executor.dispatch(BillingFlow, ['quote', ['tea']]);
    const first = (await harness.executor.waitFor(firstId, { timeout: '30s' })).value as string;
    const storedAt = await finishedAt(firstId);

    const secondId = await harness.executor.dispatch(BillingFlow, ['quote', ['tea']]);
    const second = (await harness.executor.waitFor(secondId, { timeout: '30s' })).value as string;
    expect((await harness.executor.getJournal(secondId))[0]!.startedAt!.getTime()).toBeLessThan(storedAt + QUOTE_TTL_MS);
    expect(second).toBe(first);
    expect(billing.runs.quote).toBe(1);

    await waitUntil(() => Date.now() > storedAt + QUOTE_TTL_MS + 50, 'the cached quote to expire');
    const thirdId = await harness.executor.dispatch(BillingFlow, ['quote', ['tea']]);
    const third = (await harness.executor.waitFor(thirdId, { timeout: '30s' })).value as string;
    expect(third).not.toBe(first);
    expect(billing.runs.quote).toBe(2);
    // and the fresh result is stored in its turn
    expect(await call('quote', 'tea')).toBe(third);
    expect(billing.runs.quote).toBe(2);
  });

  it('cached: true keeps the result without expiry', async () => {
    const billing = new Billing();
    harness = await createHarness(dialect, [billing, new BillingFlow(billing)]);
    const firstId = await harness.executor.dispatch(BillingFlow, ['rate', ['usd']]);
    const first = (await harness.executor.waitFor(firstId, { timeout: '30s' })).value as string;
    const storedAt = await finishedAt(firstId);
    // longer than the ttl of the quote above
    await waitUntil(() => Date.now() > storedAt + QUOTE_TTL_MS + 50, 'a while to pass');
    expect(await call('rate', 'usd')).toBe(first);
    expect(billing.runs.rate).toBe(1);
  });

  it('dispatch with an idempotencyKey returns the existing execution id and runs it once', async () => {
    const order = { runs: 0 };
    harness = await createHarness(dialect, [new Order(order)]);
    const id = await harness.executor.dispatch(Order, ['first'], { idempotencyKey: 'order-1' });
    const again = await harness.executor.dispatch(Order, ['second'], { idempotencyKey: 'order-1' });
    expect(again).toBe(id);
    expect((await harness.executor.waitFor(id, { timeout: '30s' })).value).toBe('first');
    // also once it has finished
    expect(await harness.executor.dispatch(Order, ['third'], { idempotencyKey: 'order-1' })).toBe(id);
    expect((await harness.executor.getExecution(id)).idempotencyKey).toBe('order-1');

    // concurrent dispatches with one key agree on one execution
    const racing = await Promise.all(Array.from({ length: 5 }, (_, i) => harness.executor.dispatch(Order, [`race-${i}`], { idempotencyKey: 'order-2' })));
    expect(new Set(racing).size).toBe(1);
    expect(racing[0]).not.toBe(id);
    await harness.executor.waitFor(racing[0]!, { timeout: '30s' });

    // another key is another execution
    const other = await harness.executor.dispatch(Order, ['other'], { idempotencyKey: 'order-3' });
    expect(other).not.toBe(id);
    await harness.executor.waitFor(other, { timeout: '30s' });

    expect((await harness.executor.listExecutions({}, {})).total).toBe(3);
    expect(order.runs).toBe(3);
  });
});
