import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, REPLAYING_WORKER, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

const ran: Record<string, number> = {};
const bump = (k: string) => (ran[k] = (ran[k] ?? 0) + 1);

class DoublingActs {
  async double(n: number): Promise<number> {
    bump(`double:${n}`);
    return n * 2;
  }
}
defineActivity(DoublingActs, { name: 'DoublingActs' });

class SleepThenAddChild {
  async run(x: number): Promise<number> {
    await Stent.sleep('50ms');
    return x + 100;
  }
}
defineWorkflow(SleepThenAddChild, { name: 'SleepThenAddChild' });

/** One Promise.all mixing every kind of durable call, then a sleep long enough to suspend and replay. */
class EveryCallKindFlow {
  constructor(
    private readonly acts: DoublingActs,
    private readonly child: SleepThenAddChild,
  ) {}
  async run(): Promise<unknown> {
    const [a, now, sig, , c, b, mapped, id] = await Promise.all([
      this.acts.double(1),
      Promise.resolve(Stent.now().getTime()),
      Stent.waitForSignal<string>('go'),
      Stent.sleep('100ms'),
      this.child.run(5),
      this.acts.double(2),
      Stent.map(this.acts.double, [3, 4]),
      Promise.resolve(Stent.uuid()),
    ]);
    Stent.setProgress({ stage: 'after-all' });
    Stent.incrementCounter('rounds');
    await Stent.sleep('900ms'); // suspended (suspendAfter 300ms), then replayed
    const again = await this.acts.double(10);
    return { a, now, sig, c, b, mapped, id, again };
  }
}
defineWorkflow(EveryCallKindFlow, { name: 'EveryCallKindFlow' });

describe.each(DIALECTS)('replay of a mixed Promise.all on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    for (const key of Object.keys(ran)) delete ran[key];
    await harness?.dispose();
  });

  it('positions are stable across suspension: results, recorded values and counters survive the replay', async () => {
    const acts = new DoublingActs();
    const child = new SleepThenAddChild();
    harness = await createHarness(dialect, [acts, child, new EveryCallKindFlow(acts, child)], REPLAYING_WORKER);
    const id = await harness.executor.dispatch(EveryCallKindFlow, []);
    await waitUntil(async () => (await harness.executor.getJournal(id)).some((s) => s.kind === 'signal'), 'the signal wait');
    await harness.executor.sendSignal(id, 'go', 'signalled');
    await waitUntil(async () => (await harness.executor.getExecution(id)).counters.rounds === 1, 'the counter');
    const journalBefore = (await harness.executor.getJournal(id)).map((s) => [s.position, s.kind, s.name, s.result]);
    const result = await harness.executor.waitFor<Record<string, unknown>>(id, { timeout: '20s' });
    expect(result.state).toBe('completed');
    const value = result.value as Record<string, unknown>;
    expect(value).toMatchObject({ a: 2, sig: 'signalled', c: 105, b: 4, mapped: [6, 8], again: 20 });
    const journal = await harness.executor.getJournal(id);
    expect(journal.map((s) => [s.position, s.kind, s.name, s.result]).slice(0, journalBefore.length)).toEqual(journalBefore);
    expect(value.now).toBe(journal.find((s) => s.name === 'now')!.result);
    expect(value.id).toBe(journal.find((s) => s.name === 'uuid')!.result);
    expect(ran).toEqual({ 'double:1': 1, 'double:2': 1, 'double:3': 1, 'double:4': 1, 'double:10': 1 });
    const info = await harness.executor.getExecution(id);
    expect(info.counters).toEqual({ rounds: 1 });
    expect(new Set(journal.map((s) => s.position)).size).toBe(journal.length);
  });
});
