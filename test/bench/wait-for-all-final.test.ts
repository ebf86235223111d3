import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, type StentExecutor } from 'nestjs-stent';
import { waitForAllFinal } from '../../bench/engine.js';
import { ExecutorSet } from '../support/executor-set.js';

// How the bench sees the end of a timed run: it polls the executions not final yet, further apart while
// many are left, and checks once at the end that every one completed.

class FinalActs {
  async step(n: number): Promise<number> {
    if (n < 0) throw new Error('refused');
    return n + 1;
  }
}
defineActivity(FinalActs, { name: 'FinalActs', retry: { maxAttempts: 1 } });

class FinalFlow {
  constructor(private readonly acts: FinalActs) {}
  async run(n: number): Promise<number> {
    return this.acts.step(n);
  }
}
defineWorkflow(FinalFlow, { name: 'FinalFlow' });

describe('waitForAllFinal', () => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('returns once every execution is final and completed, and throws if one ended otherwise', async () => {
    set = await ExecutorSet.create('sqlite');
    const acts = new FinalActs();
    const executor = await set.executor([acts, new FinalFlow(acts)]);
    const ids = await Promise.all(Array.from({ length: 20 }, (_, n) => executor.dispatch(FinalFlow, [n])));
    await waitForAllFinal(executor, 'FinalFlow', 20, 30_000);
    const states = await Promise.all(ids.map(async (id) => (await executor.getExecution(id)).state));
    expect(states.every((state) => state === 'completed')).toBe(true);

    await executor.dispatch(FinalFlow, [-1]);
    await expect(waitForAllFinal(executor, 'FinalFlow', 21, 30_000)).rejects.toThrow(/1 of 21 FinalFlow executions ended in a state other than completed/);
  });

  it('polls further apart while many are left, closer as the end nears', async () => {
    // Executions end at a steady 1 per ms for 400 ms: a poll every 25 ms would be 16 of them.
    const start = Date.now();
    const total = 400;
    const left = () => Math.max(0, total - (Date.now() - start));
    let reads = 0;
    const executor = {
      async listExecutions(filter: { state: string | string[] }) {
        reads++;
        const unfinished = left();
        if (Array.isArray(filter.state) && filter.state.includes('pending')) return { items: [], total: unfinished };
        // The final ones (and, asked alone, the completed ones): all that are not left.
        return { items: [], total: total - unfinished };
      },
    } as unknown as StentExecutor;
    await waitForAllFinal(executor, 'Steady', total, 10_000, 25);
    // About 7 polls on an idle machine (25 ms, then half the time left at each; fewer when timers run
    // late) and the final count at the end, against 16 polls of two reads each 25 ms apart.
    expect(reads).toBeLessThan(14);
    expect(left()).toBe(0);
  });
});
