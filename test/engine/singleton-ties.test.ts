import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { nudgeUntil } from '../support/manual-time.js';
import { keyInstances, Refresh } from '../fixtures/dispatch-key-flows.js';

describe.each(DIALECTS)('singleton waiters queued in one millisecond (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('take their turns in the order of their execution ids, one at a time', async () => {
    set = await ExecutorSet.create(dialect);
    // The manual clock stands still while they are dispatched: every waiter is queued at the same ms.
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const executor = await set.executor(keyInstances(), QUICK_WORKER, true, clock);
    const started: string[] = [];
    executor.events.on('execution.started', ({ executionId }) => {
      if (!started.includes(executionId)) started.push(executionId);
    });
    // The holder is delayed on that clock: it holds the key, pending, until the clock moves. (Running, its
    // 50 ms of real time could end between two of the dispatches below on a loaded machine, and the turn
    // would pass to the waiters queued so far.)
    const holder = await executor.dispatch(Refresh, ['holder', 50], { singleton: 'tie', delay: '1s' });
    const waiters: string[] = [];
    for (let i = 0; i < 4; i++) waiters.push(await executor.dispatch(Refresh, [`waiter-${i}`, 1], { singleton: 'tie' }));
    expect(clock.now()).toBe(Date.UTC(2030, 0, 1));

    await nudgeUntil(
      clock,
      async () => ((await Promise.all([holder, ...waiters].map((id) => executor.getExecution(id)))).every((detail) => detail.state === 'completed') ? true : null),
      'the holder and every waiter to run',
      500,
    );
    expect(started.filter((id) => waiters.includes(id))).toEqual([...waiters].sort());
  });
});
