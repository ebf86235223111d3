import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';

/** Waits for signal 'go' and returns its payload. */
class AwaitsGo {
  async run(): Promise<unknown> {
    return Stent.waitForSignal('go');
  }
}
defineWorkflow(AwaitsGo, { name: 'SignalBeforeStartAwaitsGo' });

// A signal is kept for an execution that has not started yet; it must not move the execution's start:
// that time is its delay, its debounce's quiet period, or its singleton turn, not a wait to cut short.
describe.each(DIALECTS)('a signal sent before an execution starts on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('leaves a delayed or debounced execution due when it was (the signal waits for it)', async () => {
    set = await ExecutorSet.create(dialect);
    const executor = await set.executor([new AwaitsGo()], QUICK_WORKER);
    const delayed = await executor.dispatch(AwaitsGo, [], { delay: '1h' });
    const debounced = await executor.dispatch(AwaitsGo, [], { debounce: { key: 'quiet', delay: '1h' } });
    const dueAt = new Map<string, number | undefined>();
    for (const id of [delayed, debounced]) dueAt.set(id, (await executor.getExecution(id)).wakeAt?.getTime());

    for (const id of [delayed, debounced]) await executor.sendSignal(id, 'go', id);
    for (const id of [delayed, debounced]) {
      const info = await executor.getExecution(id);
      expect(info.state).toBe('pending');
      expect(info.startedAt).toBeNull();
      expect(info.wakeAt?.getTime()).toBe(dueAt.get(id));
    }
  });

  it("leaves a queued singleton dispatch waiting for its turn; it starts when the holder ends and takes the signal it was sent", async () => {
    set = await ExecutorSet.create(dialect);
    const executor = await set.executor([new AwaitsGo()], QUICK_WORKER);
    const holder = await executor.dispatch(AwaitsGo, [], { singleton: 'one-at-a-time' });
    const queued = await executor.dispatch(AwaitsGo, [], { singleton: 'one-at-a-time' });

    await executor.sendSignal(queued, 'go', 'queued');
    const waiting = await executor.getExecution(queued);
    expect(waiting.state).toBe('pending');
    expect(waiting.startedAt).toBeNull();
    expect(waiting.wakeAt).toBeNull();

    await executor.sendSignal(holder, 'go', 'holder');
    const held = await executor.waitFor(holder, { timeout: '30s' });
    expect(held.value).toBe('holder');
    const turn = await executor.waitFor(queued, { timeout: '30s' });
    expect(turn.value).toBe('queued');
    const [first, second] = [await executor.getExecution(holder), await executor.getExecution(queued)];
    expect(second.startedAt!.getTime()).toBeGreaterThanOrEqual(first.finishedAt!.getTime());
  });
});
