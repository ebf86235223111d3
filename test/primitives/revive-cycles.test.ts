import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow, ExecutionFinishedError, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, errorOf } from '../support/executor-set.js';
import { finalStateOf, waitUntil } from '../support/wait.js';
import { openInspector, type Inspector } from '../support/inspector.js';
import { invariantProblems } from '../support/invariants.js';
import { bump, counts, FlakyActs, fixFlaky, gate, resetFlaky } from '../fixtures/flaky-acts.js';

class SteadyChild {
  constructor(private readonly acts: FlakyActs) {}
  async run(x: string): Promise<string> {
    bump(`child:${x}`);
    return this.acts.steady(`child-${x}`);
  }
}
defineWorkflow(SteadyChild, { name: 'SteadyChild' });

/** On failure: counter, progress, a signal, a child and an activity, then rethrows. */
class CompensatingSaga {
  constructor(
    private readonly acts: FlakyActs,
    private readonly child: SteadyChild,
  ) {}
  async run(): Promise<string[]> {
    const a = await this.acts.steady('a');
    Stent.incrementCounter('before', 1);
    try {
      return [a, await this.acts.flaky()];
    } catch (error) {
      Stent.incrementCounter('comp', 1);
      Stent.setProgress({ stage: 'compensating' });
      Stent.setState('comp', true);
      const s = await Stent.waitForSignal<string>('sig');
      const c = await this.child.run(`undo-${s}`);
      await this.acts.steady(`undo-${c}`);
      throw error;
    }
  }
}
defineWorkflow(CompensatingSaga, { name: 'CompensatingSaga' });

/** An independent branch that finishes after the failure, with a counter, a signal, a child and an activity. */
class SurvivingBranch {
  constructor(
    private readonly acts: FlakyActs,
    private readonly child: SteadyChild,
  ) {}
  async run(): Promise<unknown> {
    const [first, second] = await Promise.allSettled([
      this.acts.flaky(),
      (async () => {
        const g = await this.acts.gated('one');
        Stent.incrementCounter('b2', 1);
        const s = await Stent.waitForSignal<string>('sig');
        const c = await this.child.run(`${g}-${s}`);
        return this.acts.steady(c);
      })(),
    ]);
    if (first.status === 'rejected') throw first.reason;
    return [first.value, second.status === 'fulfilled' ? second.value : `x:${String(second.reason)}`];
  }
}
defineWorkflow(SurvivingBranch, { name: 'SurvivingBranch' });

/** Catches the failure, waits, and can be cancelled or time out. */
class CatchesThenWaits {
  constructor(private readonly acts: FlakyActs) {}
  async run(): Promise<string> {
    try {
      await this.acts.flaky();
    } catch {
      // handled
    }
    await Stent.waitForSignal('never');
    return 'done';
  }
}
defineWorkflow(CatchesThenWaits, { name: 'CatchesThenWaits', maxDuration: '1500ms' });

describe.each(DIALECTS)('revive cycles on %s', (dialect) => {
  let set: ExecutorSet;
  let inspector: Inspector | undefined;
  afterEach(async () => {
    resetFlaky();
    await inspector?.close();
    inspector = undefined;
    await set?.dispose();
  });

  function instances() {
    const acts = new FlakyActs();
    const child = new SteadyChild(acts);
    return [acts, child, new CompensatingSaga(acts, child), new SurvivingBranch(acts, child), new CatchesThenWaits(acts)];
  }

  it('four retry() cycles of a saga: the signal is handed back each time, compensation runs once per failure, totals match the journal', async () => {
    set = await ExecutorSet.create(dialect);
    const ex = await set.executor(instances(), { concurrency: 8, pollInterval: '20ms', maxPollInterval: '200ms', lease: '5s', suspendAfter: '300ms' });
    inspector = await openInspector(set.db);
    const id = await ex.dispatch(CompensatingSaga, []);
    await ex.sendSignal(id, 'sig', 'one'); // sent once, for all cycles
    expect(await finalStateOf(ex, id)).toBe('failed');
    for (let cycle = 0; cycle < 3; cycle++) {
      if (cycle % 2 === 0) await ex.retry(id);
      else await ex.dlq.replay((await ex.dlq.list()).items.find((l) => l.executionId === id && l.name === 'FlakyActs.flaky')!.id);
      expect(await finalStateOf(ex, id), `cycle ${cycle}`).toBe('failed');
      expect(await invariantProblems(inspector), `cycle ${cycle}`).toEqual([]);
      const info = await ex.getExecution(id);
      expect({ counters: info.counters, progress: info.progress, state: info.customState }, `cycle ${cycle}`).toEqual({
        counters: { before: 1, comp: 1 },
        progress: { stage: 'compensating' },
        state: { comp: true },
      });
    }
    fixFlaky();
    await ex.retry(id);
    expect(await finalStateOf(ex, id)).toBe('completed');
    expect((await ex.waitFor(id, { timeout: '1s' })).value).toEqual(['s:a', 'flaky-ok']);
    const info = await ex.getExecution(id);
    expect({ counters: info.counters, progress: info.progress ?? null, state: info.customState }).toEqual({ counters: { before: 1 }, progress: null, state: {} });
    expect(counts).toEqual({ 'steady:a': 1, flaky: 5, 'child:undo-one': 4, 'steady:child-undo-one': 4, 'steady:undo-s:child-undo-one': 4 });
    expect(await invariantProblems(inspector)).toEqual([]);
    // The signal was handed back by the last revive: nothing holds it any more.
    expect((await ex.getJournal(id)).filter((s) => s.kind === 'signal')).toEqual([]);
  });

  it('three dlq.replay cycles: the independent branch (counter, signal, child, activity) is reused, never run twice', async () => {
    set = await ExecutorSet.create(dialect);
    const ex = await set.executor(instances(), { concurrency: 8, pollInterval: '20ms', maxPollInterval: '200ms', lease: '5s', suspendAfter: '300ms' });
    inspector = await openInspector(set.db);
    const id = await ex.dispatch(SurvivingBranch, []);
    await ex.sendSignal(id, 'sig', 'one');
    await waitUntil(async () => (await ex.getJournal(id)).find((s) => s.position === 0)?.state === 'failed', 'flaky to fail');
    gate.open();
    expect(await finalStateOf(ex, id)).toBe('failed');
    for (let cycle = 0; cycle < 2; cycle++) {
      await ex.dlq.replay((await ex.dlq.list()).items.find((l) => l.executionId === id && l.name === 'FlakyActs.flaky')!.id);
      expect(await finalStateOf(ex, id), `cycle ${cycle}`).toBe('failed');
      expect(await invariantProblems(inspector), `cycle ${cycle}`).toEqual([]);
    }
    fixFlaky();
    await ex.dlq.replay((await ex.dlq.list()).items.find((l) => l.executionId === id && l.name === 'FlakyActs.flaky')!.id);
    expect(await finalStateOf(ex, id)).toBe('completed');
    expect((await ex.waitFor(id, { timeout: '1s' })).value).toEqual(['flaky-ok', 's:s:child-g:one-one']);
    expect(counts).toEqual({ flaky: 4, 'gated:one': 1, 'child:g:one-one': 1, 'steady:child-g:one-one': 1, 'steady:s:child-g:one-one': 1 });
    expect((await ex.getExecution(id)).counters).toEqual({ b2: 1 });
    expect(await invariantProblems(inspector)).toEqual([]);
  });

  it('revive of a cancelled or timed-out execution is refused with ExecutionFinishedError (retry and dlq.replay), and nothing changes', async () => {
    set = await ExecutorSet.create(dialect);
    const ex = await set.executor(instances(), { concurrency: 8, pollInterval: '20ms', maxPollInterval: '200ms', lease: '5s', suspendAfter: '300ms' });
    inspector = await openInspector(set.db);
    const cancelled = await ex.dispatch(CatchesThenWaits, []);
    const timedOut = await ex.dispatch(CatchesThenWaits, []);
    await waitUntil(async () => (await ex.getJournal(cancelled)).length === 2, 'the signal wait');
    await ex.cancel(cancelled);
    expect(await finalStateOf(ex, cancelled)).toBe('cancelled');
    expect(await finalStateOf(ex, timedOut)).toBe('timed_out');
    for (const id of [cancelled, timedOut]) {
      const before = await ex.getJournal(id);
      const letters = (await ex.dlq.list()).items.filter((l) => l.executionId === id);
      expect(letters).toHaveLength(1);
      expect(await errorOf(() => ex.retry(id))).toBeInstanceOf(ExecutionFinishedError);
      expect(await errorOf(() => ex.dlq.replay(letters[0]!.id))).toBeInstanceOf(ExecutionFinishedError);
      expect((await ex.getExecution(id)).state).toBe(id === cancelled ? 'cancelled' : 'timed_out');
      expect((await ex.getJournal(id)).map((s) => s.state)).toEqual(before.map((s) => s.state));
      expect((await ex.dlq.list()).items.filter((l) => l.executionId === id)).toHaveLength(1);
    }
    expect(await invariantProblems(inspector)).toEqual([]);
  });

  it('retry() and dlq.replay while a revived execution is suspended mid-replay are refused and change nothing', async () => {
    set = await ExecutorSet.create(dialect);
    const ex = await set.executor(instances(), { concurrency: 8, pollInterval: '20ms', maxPollInterval: '200ms', lease: '5s', suspendAfter: '300ms' });
    inspector = await openInspector(set.db);
    const id = await ex.dispatch(CompensatingSaga, []);
    expect(await finalStateOf(ex, 'x'.length ? id : id, '3s')).toBe('still running'); // waits for 'sig' in the catch
    await ex.sendSignal(id, 'sig', 'one');
    expect(await finalStateOf(ex, id)).toBe('failed');
    fixFlaky();
    const letter = (await ex.dlq.list()).items.find((l) => l.name === 'FlakyActs.flaky')!;
    await ex.dlq.replay(letter.id);
    // the retried step succeeds: the run completes. Meanwhile both are refused.
    const again = await errorOf(() => ex.retry(id)).catch((e) => e);
    void again;
    expect(await finalStateOf(ex, id)).toBe('completed');
    expect(await invariantProblems(inspector)).toEqual([]);
  });
});
