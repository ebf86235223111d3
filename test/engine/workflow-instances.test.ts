import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, REPLAYING_WORKER, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/** A dependency: one per application, shared by every execution. */
class Ledger {
  readonly id = randomUUID();
  readonly entries: string[] = [];
}

class LedgerActs {
  constructor(private readonly ledger: Ledger) {}
  async record(entry: string): Promise<string> {
    this.ledger.entries.push(entry);
    return `${entry}@${this.ledger.id}`;
  }
}
defineActivity(LedgerActs, { name: 'InstancesLedgerActs' });

/** Keeps per-execution state on `this`: assigned fields, a field initialised by the class, a counter. */
class Checkout {
  private customer = '';
  private readonly lines: string[] = [];
  private steps = 0;
  constructor(
    private readonly acts: LedgerActs,
    readonly ledger: Ledger,
  ) {}

  async run(customer: string, items: string[]): Promise<{ customer: string; lines: string[]; steps: number; sameLedger: string }> {
    this.customer = customer;
    for (const item of items) {
      this.lines.push(await this.acts.record(`${customer}:${item}`));
      this.steps++;
    }
    // Suspended here (and replayed from the journal on resume) with both executions interleaved.
    await Stent.waitForSignal('pay');
    this.steps++;
    return { customer: this.customer, lines: this.lines, steps: this.steps, sameLedger: this.ledger.id };
  }
}
defineWorkflow(Checkout, { name: 'InstancesCheckout' });

describe.each(DIALECTS)('one workflow object per execution on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  async function interleave(): Promise<Array<{ customer: string; lines: string[]; steps: number; sameLedger: string }>> {
    const { executor } = harness;
    const one = await executor.dispatch(Checkout, ['one', ['a', 'b']]);
    const two = await executor.dispatch(Checkout, ['two', ['c']]);
    // Both wait for their signal; the short suspendAfter lets them suspend, so resuming replays them.
    for (const id of [one, two]) await waitUntil(async () => (await executor.getExecution(id)).leaseOwner === null && (await executor.getJournal(id)).some((s) => s.kind === 'signal'), `${id} to suspend`);
    await executor.sendSignal(two, 'pay', null);
    await executor.sendSignal(one, 'pay', null);
    return Promise.all([one, two].map(async (id) => (await executor.waitFor<{ customer: string; lines: string[]; steps: number; sameLedger: string }>(id, { timeout: '20s' })).unwrap()));
  }

  it('registered by a factory: state is fresh for each execution and each replay; dependencies are shared', async () => {
    const ledger = new Ledger();
    const acts = new LedgerActs(ledger);
    harness = await createHarness(dialect, [acts, () => new Checkout(acts, ledger)], REPLAYING_WORKER);
    const [one, two] = await interleave();
    expect(one).toEqual({ customer: 'one', lines: [`one:a@${ledger.id}`, `one:b@${ledger.id}`], steps: 3, sameLedger: ledger.id });
    expect(two).toEqual({ customer: 'two', lines: [`two:c@${ledger.id}`], steps: 2, sameLedger: ledger.id });
    expect(ledger.entries.sort()).toEqual(['one:a', 'one:b', 'two:c']);
  });

  it('registered as an instance: fields a run assigns are its own; the instance is not touched', async () => {
    const ledger = new Ledger();
    const acts = new LedgerActs(ledger);
    const checkout = new Checkout(acts, ledger);
    harness = await createHarness(dialect, [acts, checkout], REPLAYING_WORKER);
    const { executor } = harness;
    const one = await executor.dispatch(Checkout, ['one', []]);
    const two = await executor.dispatch(Checkout, ['two', []]);
    for (const id of [one, two]) await waitUntil(async () => (await executor.getJournal(id)).some((s) => s.kind === 'signal'), `${id} to wait`);
    await executor.sendSignal(two, 'pay', null);
    await executor.sendSignal(one, 'pay', null);
    const results = await Promise.all([one, two].map(async (id) => (await executor.waitFor<{ customer: string; steps: number }>(id, { timeout: '20s' })).unwrap()));
    expect(results.map((r) => [r.customer, r.steps])).toEqual([
      ['one', 1],
      ['two', 1],
    ]);
    expect((checkout as unknown as { customer: string; steps: number }).customer).toBe('');
    expect((checkout as unknown as { steps: number }).steps).toBe(0);
  });

  it('a class passed to register() instead of an instance or factory is refused with a hint', async () => {
    harness = await createHarness(dialect, [], REPLAYING_WORKER);
    expect(() => harness.executor.register(Checkout as unknown as object)).toThrow(/pass an instance, or a factory/);
  });
});
