import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow, ManualClock, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/**
 * A run is suspended once it has been idle for suspendAfter since its last turn. The suspension timer
 * is kept across turns (not cleared and set again at each): when it fires early it must wait the rest.
 */

class TwoSignals {
  async run(): Promise<number> {
    const a = await Stent.waitForSignal<number>('a');
    const b = await Stent.waitForSignal<number>('b');
    return a + b;
  }
}
defineWorkflow(TwoSignals, { name: 'IdleTimerTwoSignals' });

describe.each(DIALECTS)('the suspension timer on %s', (dialect) => {
  let set: ExecutorSet;
  afterEach(async () => set?.dispose());

  it('a run that took a turn meanwhile is suspended suspendAfter after that turn, not after its first wait', async () => {
    set = await ExecutorSet.create(dialect);
    const start = Date.UTC(2030, 0, 1);
    const clock = new ManualClock(start);
    const executor = await set.executor([new TwoSignals()], { ...QUICK_WORKER, lease: '1d', suspendAfter: '1s' }, true, clock);
    const suspendedAt: number[] = [];
    executor.events.on('execution.suspended', () => suspendedAt.push(clock.now()));
    const id = await executor.dispatch(TwoSignals, []);
    const recorded = async (n: number) => (await executor.getJournal(id)).filter((step) => step.kind === 'signal').length >= n;
    await waitUntil(() => recorded(1), 'the wait for signal a to be recorded');

    clock.advance('900ms');
    await executor.sendSignal(id, 'a', 1);
    // The run takes the signal and waits for b: its idle time starts over at start + 900 ms.
    await waitUntil(() => recorded(2), 'the wait for signal b to be recorded');
    clock.advance('200ms'); // past the first wait's suspension time (start + 1 s), not the second's
    await waitUntil(() => executor.worker!.unsettled() === undefined, 'the worker to settle');
    expect(suspendedAt).toEqual([]);
    clock.advance('900ms'); // past start + 1.9 s
    await waitUntil(() => suspendedAt.length > 0, 'the run to be suspended');
    expect(suspendedAt).toEqual([start + 2_000]);

    await executor.sendSignal(id, 'b', 2);
    const outcome = await executor.waitFor<number>(id, { timeout: '20s' });
    expect(outcome.ok && outcome.value).toBe(3);
  });
});
