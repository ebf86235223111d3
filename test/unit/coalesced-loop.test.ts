import { describe, expect, it } from 'vitest';
import { CoalescedLoop, ManualClock } from 'nestjs-stent/internal';
import { waitUntil } from '../support/wait.js';

/** A pass that stays under way until the test lets it finish. */
function heldPasses() {
  const releases: Array<() => void> = [];
  let started = 0;
  return {
    get started() {
      return started;
    },
    pass: () =>
      new Promise<void>((resolve) => {
        started++;
        releases.push(resolve);
      }),
    finishOne: () => releases.shift()!(),
  };
}

describe('CoalescedLoop', () => {
  it('runs a pass at start and one each period', async () => {
    const clock = new ManualClock();
    let passes = 0;
    const loop = new CoalescedLoop(clock, 1_000, async () => void passes++, () => undefined);
    loop.start();
    expect(passes).toBe(1);
    clock.advance('1s');
    await waitUntil(() => passes === 2, 'the period pass');
    clock.advance('1s');
    await waitUntil(() => passes === 3, 'the next period pass');
    await loop.stop();
  });

  it('never runs two passes at once; asked any number of times meanwhile, it runs once more after', async () => {
    const clock = new ManualClock();
    const held = heldPasses();
    const loop = new CoalescedLoop(clock, 60_000, held.pass, () => undefined);
    loop.start();
    loop.run();
    loop.run();
    clock.advance('1m');
    expect(held.started).toBe(1);
    held.finishOne();
    await waitUntil(() => held.started === 2, 'the one pass asked for meanwhile');
    held.finishOne();
    await new Promise((resolve) => setImmediate(resolve));
    expect(held.started).toBe(2);
    await loop.stop();
  });

  it('reports a failed pass and keeps going; after stop it runs nothing and stop waits for the pass under way', async () => {
    const clock = new ManualClock();
    const failures: unknown[] = [];
    let calls = 0;
    const loop = new CoalescedLoop(
      clock,
      1_000,
      async () => {
        if (++calls === 1) throw new Error('store down');
      },
      (error) => failures.push(error),
    );
    loop.start();
    await waitUntil(() => failures.length === 1, 'the failure to be reported');
    expect((failures[0] as Error).message).toBe('store down');
    clock.advance('1s');
    await waitUntil(() => calls === 2, 'the next pass after the failure');

    const held = heldPasses();
    const second = new CoalescedLoop(clock, 1_000, held.pass, () => undefined);
    second.start();
    let stopped = false;
    const stopping = second.stop().then(() => (stopped = true));
    expect(second.stopped).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    held.finishOne();
    await stopping;
    second.run();
    clock.advance('5s');
    expect(held.started).toBe(1);
    await loop.stop();
  });
});
