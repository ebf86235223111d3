import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, ManualClock, StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, Gate } from '../support/executor-set.js';
import { resultsOnStandingClock } from '../support/manual-time.js';
import { holdOneClaim } from '../support/held-claim.js';
import { waitUntil } from '../support/wait.js';

/**
 * When an activity whose workflow runs in the same worker ends, its slot stays with that run until the
 * end of the turn that hands it the result: the run's next call starts in it at once, before a step that
 * waits for a slot here (a claim took it while the slots were full). A slot the turn does not spend goes
 * back, so the waiting step then starts.
 */

/** Each call by tag: its gate, and the order in which bodies started. */
const gates = new Map<string, Gate>();
const started: string[] = [];
const running = new Set<string>();
let most = 0;

const gate = (tag: string): Gate => {
  let found = gates.get(tag);
  if (!found) gates.set(tag, (found = new Gate()));
  return found;
};

class CarryActs {
  async hold(tag: string): Promise<string> {
    started.push(tag);
    running.add(tag);
    most = Math.max(most, running.size);
    try {
      await gate(tag).wait();
    } finally {
      running.delete(tag);
    }
    return tag;
  }
}
defineActivity(CarryActs, { name: 'CarryActs' });

/** 'a', then 'b' with a's result: the call that takes a's slot. */
class Chain {
  constructor(private readonly acts: CarryActs) {}
  async run(): Promise<string[]> {
    const a = await this.acts.hold('a');
    return [a, await this.acts.hold(`${a}->b`)];
  }
}
defineWorkflow(Chain, { name: 'CarryChain' });

/** Three calls at once, none made after a result: their slots go back at the end of each turn. */
class Three {
  constructor(private readonly acts: CarryActs) {}
  async run(): Promise<string[]> {
    return Promise.all([this.acts.hold('x0'), this.acts.hold('x1'), this.acts.hold('x2')]);
  }
}
defineWorkflow(Three, { name: 'CarryThree' });

class Single {
  constructor(private readonly acts: CarryActs) {}
  async run(): Promise<string> {
    return this.acts.hold('s');
  }
}
defineWorkflow(Single, { name: 'CarrySingle' });

describe.each(DIALECTS)('worker slots carried to a run’s next call (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    for (const each of gates.values()) each.open();
    await set?.dispose();
    set = undefined;
    gates.clear();
    started.length = 0;
    running.clear();
    most = 0;
  });

  it("a run's next call takes the slot of the activity it waited on, ahead of a step waiting for a slot; an unspent slot goes back", async () => {
    set = await ExecutorSet.create(dialect);
    // The clock stands still: no poll comes, only announcements and finished attempts start claim rounds.
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const claims = holdOneClaim(await createStentStore({ database: set.db.options }), { taking: true });
    const executor = new StentExecutor({ store: claims.store, worker: { concurrency: 2, lease: '1d' }, logger: set.logger, clock });
    set.onCleanup(() => executor.close('2s'));
    const acts = new CarryActs();
    executor.register(acts, new Chain(acts), new Three(acts), new Single(acts));
    await executor.start();
    const { loop } = executor.worker!;
    await waitUntil(() => !loop.busy, 'the start-up claim round to end');

    // Slots: 'a', and one x call; the other two x calls wait, pending.
    const chain = await executor.dispatch(Chain, []);
    await waitUntil(() => running.has('a'), "'a' to start");
    const three = await executor.dispatch(Three, []);
    await waitUntil(() => running.size === 2, 'an x call to start beside it');
    const [firstX] = [...running].filter((tag) => tag !== 'a');
    await waitUntil(async () => (await executor.getJournal(three)).filter((step) => step.state === 'pending').length === 2, 'two x calls to wait');

    // The x call ends and its run makes no new call: the slot goes back after the turn, and a claim round
    // takes one pending x call for it. Its answer is held while 's' fills that slot at insert.
    const held = claims.arm();
    gate(firstX!).open();
    expect(await held).toBe(1);
    const single = await executor.dispatch(Single, []);
    await waitUntil(() => running.has('s'), "'s' to start");
    claims.release();
    await waitUntil(() => !loop.busy, 'the held claim round to end');
    const tagOf = (step: { args: unknown }) => (step.args as string[])[0]!;
    const [claimedX] = (await executor.getJournal(three)).filter((step) => step.state === 'running' && !running.has(tagOf(step))).map(tagOf);
    expect(claimedX).toBeDefined();
    expect(running.has(claimedX!)).toBe(false);

    // 'a' ends: its run's next call starts in a's slot; the claimed x call waits on.
    gate('a').open();
    await waitUntil(() => running.has('a->b'), "'a->b' to start");
    expect(running.has(claimedX!)).toBe(false);
    expect((await executor.getJournal(chain)).map((step) => [tagOf(step), step.state])).toEqual([
      ['a', 'completed'],
      ['a->b', 'running'],
    ]);

    // 'a->b' ends and its run ends: nothing spends the slot, and the waiting x call starts in it.
    gate('a->b').open();
    await waitUntil(() => running.has(claimedX!), `${claimedX} to start once 'a->b' ends`);
    expect(started.indexOf('a->b')).toBeLessThan(started.indexOf(claimedX!));

    for (const tag of ['s', 'x0', 'x1', 'x2']) gate(tag).open();
    const results = await resultsOnStandingClock(executor, [chain, three, single], 'carried slots', 30_000);
    expect(results.map((result) => result.ok && result.value)).toEqual([['a', 'a->b'], ['x0', 'x1', 'x2'], 's']);
    expect(most).toBeLessThanOrEqual(2);
    expect(started.filter((tag) => tag === claimedX)).toHaveLength(1);
  });
});
