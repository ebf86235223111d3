import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { resultsOnStandingClock } from '../support/manual-time.js';
import { standingWorkerWithHeldClaim } from '../support/held-claim.js';
import { TaggedCalls } from '../support/tagged-calls.js';
import { waitUntil } from '../support/wait.js';

/**
 * When an activity whose workflow runs in the same worker ends, its slot stays with that run until the
 * end of the turn that hands it the result: the run's next call starts in it at once, before a step that
 * waits for a slot here (a claim took it while the slots were full). A slot the turn does not spend goes
 * back, so the waiting step then starts.
 */

/** The bodies of this test, held by tag (a new set for each test). */
let calls = new TaggedCalls();

class CarryActs {
  async hold(tag: string): Promise<string> {
    return calls.hold(tag);
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
    calls.openAll();
    await set?.dispose();
    set = undefined;
    calls = new TaggedCalls();
  });

  it("a run's next call takes the slot of the activity it waited on, ahead of a step waiting for a slot; an unspent slot goes back", async () => {
    set = await ExecutorSet.create(dialect);
    const acts = new CarryActs();
    const { executor, claims } = await standingWorkerWithHeldClaim(set, [acts, new Chain(acts), new Three(acts), new Single(acts)], 2);
    const { loop } = executor.worker!;

    // Slots: 'a', and one x call; the other two x calls wait, pending.
    const chain = await executor.dispatch(Chain, []);
    await waitUntil(() => calls.running.has('a'), "'a' to start");
    const three = await executor.dispatch(Three, []);
    await waitUntil(() => calls.running.size === 2, 'an x call to start beside it');
    const [firstX] = [...calls.running].filter((tag) => tag !== 'a');
    await waitUntil(async () => (await executor.getJournal(three)).filter((step) => step.state === 'pending').length === 2, 'two x calls to wait');

    // The x call ends and its run makes no new call: the slot goes back after the turn, and a claim round
    // takes one pending x call for it. Its answer is held while 's' fills that slot at insert.
    const held = claims.arm();
    calls.open(firstX!);
    expect(await held).toBe(1);
    const single = await executor.dispatch(Single, []);
    await waitUntil(() => calls.running.has('s'), "'s' to start");
    claims.release();
    await waitUntil(() => !loop.busy, 'the held claim round to end');
    const tagOf = (step: { args: unknown }) => (step.args as string[])[0]!;
    const [claimedX] = (await executor.getJournal(three)).filter((step) => step.state === 'running' && !calls.running.has(tagOf(step))).map(tagOf);
    expect(claimedX).toBeDefined();
    expect(calls.running.has(claimedX!)).toBe(false);

    // 'a' ends: its run's next call starts in a's slot; the claimed x call waits on.
    calls.open('a');
    await waitUntil(() => calls.running.has('a->b'), "'a->b' to start");
    expect(calls.running.has(claimedX!)).toBe(false);
    expect((await executor.getJournal(chain)).map((step) => [tagOf(step), step.state])).toEqual([
      ['a', 'completed'],
      ['a->b', 'running'],
    ]);

    // 'a->b' ends and its run ends: nothing spends the slot, and the waiting x call starts in it.
    calls.open('a->b');
    await waitUntil(() => calls.running.has(claimedX!), `${claimedX} to start once 'a->b' ends`);
    expect(calls.started.indexOf('a->b')).toBeLessThan(calls.started.indexOf(claimedX!));

    for (const tag of ['s', 'x0', 'x1', 'x2']) calls.open(tag);
    const results = await resultsOnStandingClock(executor, [chain, three, single], 'carried slots', 30_000);
    expect(results.map((result) => result.ok && result.value)).toEqual([['a', 'a->b'], ['x0', 'x1', 'x2'], 's']);
    expect(calls.most).toBeLessThanOrEqual(2);
    expect(calls.started.filter((tag) => tag === claimedX)).toHaveLength(1);
  });
});
