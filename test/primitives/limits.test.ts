import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, setActivityMethodOptions, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, Gate, QUICK_WORKER } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/** An activity capped at one running attempt cluster-wide, held open by a gate; and an uncapped one. */
class Lanes {
  running = 0;
  maxRunning = 0;
  quickRuns = 0;
  constructor(readonly gate: Gate) {}

  async throttled(index: number): Promise<number> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      await this.gate.wait();
      return index;
    } finally {
      this.running--;
    }
  }

  async quick(index: number): Promise<number> {
    this.quickRuns++;
    return index * 10;
  }
}
setActivityMethodOptions(Lanes.prototype, 'throttled', { maxConcurrent: 1 });
defineActivity(Lanes);

class ThrottledBatch {
  constructor(private readonly lanes: Lanes) {}
  async run(count: number): Promise<number[]> {
    return Stent.map(this.lanes.throttled, Array.from({ length: count }, (_, i) => i));
  }
}
defineWorkflow(ThrottledBatch);

class QuickChain {
  constructor(private readonly lanes: Lanes) {}
  async run(count: number): Promise<number> {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += await this.lanes.quick(i);
    return sum;
  }
}
defineWorkflow(QuickChain);

describe.each(DIALECTS)('concurrency limits on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('capped tasks at the front of the queue do not hold back runnable work behind them', async () => {
    set = await ExecutorSet.create(dialect);
    const gate = new Gate();
    set.onCleanup(() => gate.open());
    // Workflows run in one executor and every activity in another, so each step goes through a claim.
    const flows = new Lanes(gate);
    await set.executor([new ThrottledBatch(flows), new QuickChain(flows)]);
    const lanes = new Lanes(gate);
    const worker = await set.executor([lanes], { ...QUICK_WORKER, concurrency: 4 });

    // Twenty capped steps, first and at a higher priority than anything dispatched after them.
    const batch = await worker.dispatch(ThrottledBatch, [20], { priority: 10 });
    await waitUntil(async () => (await worker.getJournal(batch)).length === 20, 'the capped steps to be recorded');
    await waitUntil(() => gate.entered === 1, 'the first capped step to run');

    const chain = await worker.dispatch(QuickChain, [5]);
    const quick = await worker.waitFor(chain, { timeout: '30s' });
    expect(quick.value).toBe(100);
    expect(lanes.quickRuns).toBe(5);
    // The cap held while the other work ran past the waiting capped steps.
    expect(gate.entered).toBe(1);
    expect(lanes.maxRunning).toBe(1);
    const journal = await worker.getJournal(batch);
    expect(journal.filter((s) => s.state === 'pending')).toHaveLength(19);

    gate.open();
    const done = await worker.waitFor(batch, { timeout: '60s' });
    expect(done.value).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(lanes.maxRunning).toBe(1);
    expect(flows.quickRuns + flows.maxRunning).toBe(0);
  });
});
