import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { resultsOnStandingClock } from '../support/manual-time.js';
import { standingWorkerWithHeldClaim } from '../support/held-claim.js';
import { TaggedCalls } from '../support/tagged-calls.js';
import { waitUntil } from '../support/wait.js';

/**
 * A claim round asks for as many steps as the worker has free slots. While its query is on its way, a run
 * of this worker may record new calls and start them at once in those same slots (they were free when it
 * looked). The claim must then not start what it took beyond the room left: with `concurrency: 2`, no
 * more than two bodies ever run at once; the steps it could not start wait for a slot here, leased to
 * this worker, and run once each.
 */

/** The bodies of this test, held by tag (a new set for each test). */
let calls = new TaggedCalls();

class GatedActs {
  /** Runs until the test opens its tag's gate (a gate opened before the body starts lets it through). */
  async hold(tag: string): Promise<string> {
    return calls.hold(tag);
  }
}
defineActivity(GatedActs, { name: 'RoomGatedActs' });

/** One call, then two at once. */
class OneThenTwo {
  constructor(private readonly acts: GatedActs) {}
  async run(): Promise<string[]> {
    const first = await this.acts.hold('a');
    return [first, ...(await Promise.all([this.acts.hold('c0'), this.acts.hold('c1')]))];
  }
}
defineWorkflow(OneThenTwo, { name: 'RoomOneThenTwo' });

/** Three calls at once. */
class Three {
  constructor(private readonly acts: GatedActs) {}
  async run(): Promise<string[]> {
    return Promise.all([this.acts.hold('b0'), this.acts.hold('b1'), this.acts.hold('b2')]);
  }
}
defineWorkflow(Three, { name: 'RoomThree' });

describe.each(DIALECTS)('claims within the room left (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    calls.openAll();
    await set?.dispose();
    set = undefined;
    calls = new TaggedCalls();
  });

  it('steps a claim took while local calls filled its slots wait for a slot, and run once each', async () => {
    set = await ExecutorSet.create(dialect);
    const acts = new GatedActs();
    const { executor, claims } = await standingWorkerWithHeldClaim(set, [acts, new OneThenTwo(acts), new Three(acts)], 2);
    const { loop } = executor.worker!;

    // Both slots taken: 'a', and one of the three b calls; the other two wait, pending.
    const first = await executor.dispatch(OneThenTwo, []);
    await waitUntil(() => calls.running.has('a'), "'a' to start");
    const second = await executor.dispatch(Three, []);
    await waitUntil(() => calls.running.size === 2, 'a b call to start beside it');
    const [startedB] = [...calls.running].filter((tag) => tag !== 'a');
    await waitUntil(async () => (await executor.getJournal(second)).filter((step) => step.state === 'pending').length === 2, 'two b calls to wait');

    // The b call ends: a claim round takes the free slot's worth of pending steps, and is held there...
    const held = claims.arm();
    calls.open(startedB!);
    expect(await held).toBeGreaterThan(0);
    // ...while 'a' ends and its run starts its next two calls in the two slots now free.
    calls.open('a');
    await waitUntil(() => calls.running.has('c0') && calls.running.has('c1'), 'c0 and c1 to start');
    claims.release();
    await waitUntil(() => !loop.busy, 'the held claim round to end');
    expect(calls.most).toBeLessThanOrEqual(2);

    for (const tag of ['c0', 'c1', 'b0', 'b1', 'b2']) calls.open(tag);
    const results = await resultsOnStandingClock(executor, [first, second], 'room left', 30_000);
    expect(results.map((result) => result.ok && result.value)).toEqual([
      ['a', 'c0', 'c1'],
      ['b0', 'b1', 'b2'],
    ]);
    expect(calls.most).toBeLessThanOrEqual(2);
    expect(Object.fromEntries(calls.runs)).toEqual({ a: 1, b0: 1, b1: 1, b2: 1, c0: 1, c1: 1 });
    // One attempt each: a step that waited for a slot started once.
    expect((await executor.getJournal(second)).map((step) => step.attempts)).toEqual([1, 1, 1]);
  });
});
