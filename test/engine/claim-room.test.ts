import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, ManualClock, StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { resultsOnStandingClock } from '../support/manual-time.js';
import { holdOneClaim } from '../support/held-claim.js';
import { waitUntil } from '../support/wait.js';

/**
 * A claim round asks for as many steps as the worker has free slots. While its query is on its way, a run
 * of this worker may record new calls and start them at once in those same slots (they were free when it
 * looked). The claim must then not start what it took beyond the room left: with `concurrency: 2`, no
 * more than two bodies ever run at once; the steps it could not start wait for a slot here, leased to
 * this worker, and run once each.
 */

/** Bodies running now, by tag; the most that ran at once; runs of each tag. */
const running = new Set<string>();
let most = 0;
const runs = new Map<string, number>();
const gates = new Map<string, () => void>();

function open(tag: string): void {
  const release = gates.get(tag);
  if (release) release();
  else gates.set(tag, () => undefined);
}

class GatedActs {
  /** Runs until the test opens its tag's gate (a gate opened before the body starts lets it through). */
  async hold(tag: string): Promise<string> {
    running.add(tag);
    most = Math.max(most, running.size);
    runs.set(tag, (runs.get(tag) ?? 0) + 1);
    try {
      if (!gates.has(tag)) await new Promise<void>((resolve) => gates.set(tag, resolve));
    } finally {
      running.delete(tag);
    }
    return tag;
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
    for (const tag of gates.keys()) open(tag);
    await set?.dispose();
    set = undefined;
    running.clear();
    runs.clear();
    gates.clear();
    most = 0;
  });

  it('steps a claim took while local calls filled its slots wait for a slot, and run once each', async () => {
    set = await ExecutorSet.create(dialect);
    // The clock stands still: no poll comes, only announcements and finished attempts start claim rounds.
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const claims = holdOneClaim(await createStentStore({ database: set.db.options }), { taking: true });
    const executor = new StentExecutor({ store: claims.store, worker: { concurrency: 2, lease: '1d' }, logger: set.logger, clock });
    set.onCleanup(() => executor.close('2s'));
    const acts = new GatedActs();
    executor.register(acts, new OneThenTwo(acts), new Three(acts));
    await executor.start();
    const { loop } = executor.worker!;
    await waitUntil(() => !loop.busy, 'the start-up claim round to end');

    // Both slots taken: 'a', and one of the three b calls; the other two wait, pending.
    const first = await executor.dispatch(OneThenTwo, []);
    await waitUntil(() => running.has('a'), "'a' to start");
    const second = await executor.dispatch(Three, []);
    await waitUntil(() => running.size === 2, 'a b call to start beside it');
    const [startedB] = [...running].filter((tag) => tag !== 'a');
    await waitUntil(async () => (await executor.getJournal(second)).filter((step) => step.state === 'pending').length === 2, 'two b calls to wait');

    // The b call ends: a claim round takes the free slot's worth of pending steps, and is held there...
    const held = claims.arm();
    open(startedB!);
    expect(await held).toBeGreaterThan(0);
    // ...while 'a' ends and its run starts its next two calls in the two slots now free.
    open('a');
    await waitUntil(() => running.has('c0') && running.has('c1'), 'c0 and c1 to start');
    claims.release();
    await waitUntil(() => !loop.busy, 'the held claim round to end');
    expect(most).toBeLessThanOrEqual(2);

    for (const tag of ['c0', 'c1', 'b0', 'b1', 'b2']) open(tag);
    const results = await resultsOnStandingClock(executor, [first, second], 'room left', 30_000);
    expect(results.map((result) => result.ok && result.value)).toEqual([
      ['a', 'c0', 'c1'],
      ['b0', 'b1', 'b2'],
    ]);
    expect(most).toBeLessThanOrEqual(2);
    expect(Object.fromEntries(runs)).toEqual({ a: 1, b0: 1, b1: 1, b2: 1, c0: 1, c1: 1 });
    // One attempt each: a step that waited for a slot started once.
    expect((await executor.getJournal(second)).map((step) => step.attempts)).toEqual([1, 1, 1]);
  });
});
