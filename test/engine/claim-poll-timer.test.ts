import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, systemClock, type Clock, type Timer } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';

// A busy worker runs a claim round after every result a workflow of its own takes. The poll timer (the
// safety net for lost notifications) is kept across those rounds rather than cleared and set again at each.

class Counting {
  async add(n: number): Promise<number> {
    return n + 1;
  }
}
defineActivity(Counting);

class Chain {
  constructor(private readonly acts: Counting) {}
  async run(length: number): Promise<number> {
    let n = 0;
    for (let i = 0; i < length; i++) n = await this.acts.add(n);
    return n;
  }
}
defineWorkflow(Chain);

/** The system clock, counting the timers the claim loop sets through it. */
class ClaimTimerCounter implements Clock {
  claimLoopTimers = 0;
  now(): number {
    return systemClock.now();
  }
  setTimer(ms: number, callback: () => void): Timer {
    if (new Error().stack?.includes('claim-loop')) this.claimLoopTimers++;
    return systemClock.setTimer(ms, callback);
  }
}

describe.each(DIALECTS)('the claim loop of a busy worker, on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('keeps its poll timer across the rounds a sequential workflow asks for', async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ClaimTimerCounter();
    const acts = new Counting();
    // Default poll intervals (100 ms backing off to 1 s): a loaded machine's slow run sets a few timers, not one per round.
    const executor = await set.executor([acts, new Chain(acts)], { concurrency: 8, lease: '10s' }, true, clock);
    const before = clock.claimLoopTimers;
    const steps = 150;
    const outcome = await executor.waitFor(await executor.dispatch(Chain, [steps]), { timeout: '60s' });
    expect(outcome).toMatchObject({ ok: true, value: steps });
    // One round per result (or per two on SQLite, where a step can pass within one turn): clearing and
    // setting the timer at each round set 75-150 here. Kept, it is set again only when it fires early,
    // once per poll interval that the run lasts.
    expect(clock.claimLoopTimers - before).toBeLessThan(30);
  });
});
