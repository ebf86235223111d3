import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError, ManualClock, SingletonConflictError, type StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER, rejectionOf } from '../support/executor-set.js';
import { nudgeUntil } from '../support/manual-time.js';
import { waitUntil } from '../support/wait.js';
import { keyInstances, Refresh } from '../fixtures/dispatch-key-flows.js';

const START = Date.UTC(2030, 0, 1);
const wakeOf = async (executor: StentExecutor, id: string) => (await executor.listExecutions({ workflowName: 'Refresh' }, { limit: 100 })).items.find((item) => item.id === id)!.wakeAt?.getTime() ?? null;

describe.each(DIALECTS)('debounce and singleton dispatch options (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('debounce: each dispatch within the delay moves the start on and replaces the arguments, never past maxWait; after the start a new burst begins', async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(START);
    const executor = await set.executor(keyInstances(), QUICK_WORKER, true, clock);
    const debounce = { key: 'k', delay: '5s', maxWait: '12s' };
    const first = await executor.dispatch(Refresh, ['a', 1], { debounce });
    expect(await wakeOf(executor, first)).toBe(START + 5_000);
    clock.advance('4s');
    expect(await executor.dispatch(Refresh, ['b', 1], { debounce })).toBe(first);
    expect(await wakeOf(executor, first)).toBe(START + 9_000);
    clock.advance('4s');
    expect(await executor.dispatch(Refresh, ['c', 1], { debounce })).toBe(first);
    // now + 5s would be 13s after the first dispatch: maxWait caps it at 12s.
    expect(await wakeOf(executor, first)).toBe(START + 12_000);
    // Another key, or another workflow's key, is a burst of its own.
    const other = await executor.dispatch(Refresh, ['z', 1], { debounce: { ...debounce, key: 'other' } });
    expect(other).not.toBe(first);

    const outcome = await nudgeUntil(clock, async () => ((await executor.getExecution(first)).state === 'completed' ? executor.waitFor(first) : null), 'the debounced run', 500);
    expect(outcome.value).toBe('c');
    expect(clock.now()).toBeGreaterThanOrEqual(START + 12_000);
    const next = await executor.dispatch(Refresh, ['d', 1], { debounce });
    expect(next).not.toBe(first);
    expect(await wakeOf(executor, next)).toBe(clock.now() + 5_000);
  });

  it("singleton: a dispatch while one goes on waits its turn ('wait') or is refused ('refuse'); a cancelled waiter gives its turn on", async () => {
    set = await ExecutorSet.create(dialect);
    const executor = await set.executor(keyInstances(), QUICK_WORKER);
    const long = await executor.dispatch(Refresh, ['long', 1_500], { singleton: 'tenant' });
    const refused = await rejectionOf(executor.dispatch(Refresh, ['no', 1], { singleton: { key: 'tenant', onConflict: 'refuse' } }));
    expect(refused).toBeInstanceOf(SingletonConflictError);
    expect(refused).toMatchObject({ code: 'STENT_SINGLETON_CONFLICT', runningId: long, key: 'tenant' });
    const cancelled = await executor.dispatch(Refresh, ['cancelled', 1], { singleton: 'tenant' });
    const queued = await executor.dispatch(Refresh, ['queued', 1], { singleton: 'tenant' });
    const elsewhere = await executor.dispatch(Refresh, ['elsewhere', 1], { singleton: 'tenant-2' });
    expect((await executor.waitFor(elsewhere, { timeout: '30s' })).state).toBe('completed');
    expect((await executor.getExecution(queued)).state).toBe('pending');
    await executor.cancel(cancelled);
    expect((await executor.waitFor(long, { timeout: '30s' })).state).toBe('completed');
    expect((await executor.waitFor(queued, { timeout: '30s' })).state).toBe('completed');
    const [longRun, queuedRun] = [await executor.getExecution(long), await executor.getExecution(queued)];
    expect(queuedRun.startedAt!.getTime()).toBeGreaterThanOrEqual(longRun.finishedAt!.getTime());
    // Its key is free again: 'refuse' is accepted now.
    const later = await executor.dispatch(Refresh, ['later', 1], { singleton: { key: 'tenant', onConflict: 'refuse' } });
    await waitUntil(async () => (await executor.getExecution(later)).state === 'completed', 'the later run');
  });

  it('refuses options it cannot honour with a ConfigurationError', async () => {
    set = await ExecutorSet.create(dialect);
    const executor = await set.executor(keyInstances(), false);
    const cases = [
      { debounce: { key: 'k', delay: '1s' }, singleton: 'k' },
      { debounce: { key: 'k', delay: '1s' }, idempotencyKey: 'x' },
      { debounce: { key: 'k', delay: '5s', maxWait: '1s' } },
      { debounce: { key: 'k', delay: '1s' }, delay: '1s' },
      { debounce: { key: '', delay: '1s' } },
      { singleton: { key: 'k', onConflict: 'queue' } },
      { singleton: 'k', executionId: 'x' },
    ];
    for (const options of cases) expect(await rejectionOf(executor.dispatch(Refresh, ['x', 1], options as never)), JSON.stringify(options)).toBeInstanceOf(ConfigurationError);
  });
});
