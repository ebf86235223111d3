import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/executor-set.js';
import { finalStateOf, waitUntil } from '../support/wait.js';
import { counts, FlakyActs, fixFlaky, gate, resetFlaky } from '../fixtures/flaky-acts.js';

/**
 * Branch 1 fails for good at once. Branch 2 (independent of branch 1) finishes its first call only after
 * that, then counts and makes a second call. allSettled waits for both, then the failure is rethrown.
 */
class IndependentBranch {
  constructor(private readonly acts: FlakyActs) {}
  async run(): Promise<unknown> {
    const [first, second] = await Promise.allSettled([
      this.acts.flaky(),
      (async () => {
        const a = await this.acts.gated('one');
        Stent.incrementCounter('branch2', 1);
        return this.acts.steady(a);
      })(),
    ]);
    if (first.status === 'rejected') throw first.reason;
    return [first.value, second.status === 'fulfilled' ? second.value : 'x'];
  }
}
defineWorkflow(IndependentBranch, { name: 'IndependentBranch' });

/** Sequential steps across a suspension (so the failure is seen by a replayed run), then a saga around flaky. */
class SagaAfterReplay {
  constructor(private readonly acts: FlakyActs) {}
  async run(): Promise<string[]> {
    const a = await this.acts.steady('a');
    await Stent.sleep(400); // > suspendAfter: the rest runs in a replay
    const [b, c] = await Promise.all([this.acts.steady('b'), this.acts.steady('c')]);
    try {
      return [a, b, c, await this.acts.flaky()];
    } catch (error) {
      await this.acts.steady(`undo`);
      throw error;
    }
  }
}
defineWorkflow(SagaAfterReplay, { name: 'SagaAfterReplay' });

/** On failure: records the fact in custom state and counters, then rethrows. */
class MarksFailure {
  constructor(private readonly acts: FlakyActs) {}
  async run(): Promise<string> {
    try {
      return await this.acts.flaky();
    } catch (error) {
      Stent.setState('status', 'compensating');
      Stent.incrementCounter('compensations', 1);
      throw error;
    }
  }
}
defineWorkflow(MarksFailure, { name: 'MarksFailure' });

describe.each(DIALECTS)('dead-letter replay keeps independent work on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    resetFlaky();
    await harness?.dispose();
  });

  it('dlq.replay neither re-runs a completed step of an independent branch nor applies its counter twice', async () => {
    const acts = new FlakyActs();
    harness = await createHarness(dialect, [acts, new IndependentBranch(acts), new SagaAfterReplay(acts), new MarksFailure(acts)]);
    const id = await harness.executor.dispatch(IndependentBranch, []);
    await waitUntil(async () => (await harness.executor.getJournal(id)).find((s) => s.position === 0)?.state === 'failed', 'flaky to fail');
    gate.open();
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    expect(counts).toEqual({ flaky: 1, 'gated:one': 1, 'steady:g:one': 1 });
    expect((await harness.executor.getExecution(id)).counters).toEqual({ branch2: 1 });

    fixFlaky();
    const [letter] = (await harness.executor.dlq.list()).items;
    await harness.executor.dlq.replay(letter!.id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    expect((await harness.executor.waitFor(id, { timeout: '1s' })).value).toEqual(['flaky-ok', 's:g:one']);
    const info = await harness.executor.getExecution(id);
    expect({ counts, counters: info.counters }).toEqual({ counts: { flaky: 2, 'gated:one': 1, 'steady:g:one': 1 }, counters: { branch2: 1 } });
  });

  it('retry() twice after a replayed run: earlier steps never run again, compensation runs once per failure', async () => {
    const acts = new FlakyActs();
    harness = await createHarness(dialect, [acts, new IndependentBranch(acts), new SagaAfterReplay(acts), new MarksFailure(acts)]);
    const id = await harness.executor.dispatch(SagaAfterReplay, []);
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    await harness.executor.retry(id); // still broken
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    fixFlaky();
    await harness.executor.retry(id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    expect((await harness.executor.waitFor(id, { timeout: '1s' })).value).toEqual(['s:a', 's:b', 's:c', 'flaky-ok']);
    expect(counts).toEqual({ 'steady:a': 1, 'steady:b': 1, 'steady:c': 1, flaky: 3, 'steady:undo': 2 });
  });

  it('dlq.replay: state and counters written by the forgotten failure path are not left behind on the success path', async () => {
    const acts = new FlakyActs();
    harness = await createHarness(dialect, [acts, new MarksFailure(acts)]);
    const id = await harness.executor.dispatch(MarksFailure, []);
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    expect((await harness.executor.getExecution(id)).customState).toEqual({ status: 'compensating' });
    fixFlaky();
    await harness.executor.dlq.replay((await harness.executor.dlq.list()).items[0]!.id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    const info = await harness.executor.getExecution(id);
    // the journal no longer holds the steps that wrote them (they were dropped with the failure path)
    expect((await harness.executor.getJournal(id)).map((s) => s.name)).toEqual(['FlakyActs.flaky']);
    expect({ customState: info.customState, counters: info.counters }).toEqual({ customState: {}, counters: {} });
  });
});
