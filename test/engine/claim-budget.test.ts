import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, type StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, Gate, QUICK_WORKER } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

let gate = new Gate();
const runs: Record<number, number> = {};

class Held {
  async hold(n: number): Promise<number> {
    runs[n] = (runs[n] ?? 0) + 1;
    await gate.wait();
    return n;
  }
}
defineActivity(Held, { name: 'Held' });

class HeldFlow {
  constructor(private readonly held: Held) {}
  async run(n: number): Promise<number> {
    return this.held.hold(n);
  }
}
defineWorkflow(HeldFlow, { name: 'HeldFlow' });

/** Holds each workflow before its first activity call: claimed, in memory, its first step not recorded yet. */
let firstCall = new Gate();

class LateFlow {
  constructor(private readonly held: Held) {}
  async run(n: number): Promise<number> {
    await firstCall.wait();
    return this.held.hold(n);
  }
}
defineWorkflow(LateFlow, { name: 'LateFlow' });

const SMALL = { ...QUICK_WORKER, concurrency: 2 };
const WORKFLOWS = 12;

function instances(): object[] {
  const held = new Held();
  return [held, new HeldFlow(held)];
}

const inMemory = (executor: StentExecutor): number => executor.worker!.stats().activeWorkflows;

describe.each(DIALECTS)('how many workflows a busy worker takes, on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    gate.open();
    firstCall.open();
    await set?.dispose();
    set = undefined;
    gate = new Gate();
    firstCall = new Gate();
    for (const key of Object.keys(runs)) delete runs[Number(key)];
  });

  it('with other workers on the database, a worker whose slots are full takes no more workflows', async () => {
    set = await ExecutorSet.create(dialect);
    const client = await set.executor([], false);
    const first = await set.executor(instances(), SMALL);
    const second = await set.executor(instances(), SMALL);
    // Each worker learns of the other from its 'joined' event (a NOTIFY on PostgreSQL, which a loaded machine
    // can deliver after the first claim); the test delivers it itself, so the dispatches below meet two
    // workers that know they are two.
    first.worker!.loop.peerJoined();
    second.worker!.loop.peerJoined();
    const ids: string[] = [];
    for (let n = 0; n < WORKFLOWS; n++) ids.push(await client.dispatch(HeldFlow, [n]));

    await waitUntil(() => gate.entered >= 4, 'all four slots to be busy');
    // Four activities run, and no worker holds a workflow besides those: at most four are held, and the
    // rest stay in the database, unclaimed, for whoever frees a slot first. A worker's own workflows each
    // hold one of its busy slots or wait for one (a step another worker took from it still counts until its
    // result comes back), and a claim takes no more than the free slots left, so the bound has no slack for
    // races: a claim made while a workflow it had just taken had not started its first step yet went past
    // it once.
    // Watched over several claim rounds.
    const watchUntil = Date.now() + 1_000;
    while (Date.now() < watchUntil) {
      expect(inMemory(first) + inMemory(second)).toBeLessThanOrEqual(4);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const unclaimed = await client.listExecutions({ workflowName: 'HeldFlow', state: 'pending' });
    expect(unclaimed.total).toBeGreaterThanOrEqual(WORKFLOWS - 4);
    expect(inMemory(first)).toBeGreaterThan(0);
    expect(inMemory(second)).toBeGreaterThan(0);

    gate.open();
    for (const id of ids) expect((await client.waitFor(id, { timeout: '30s' })).state).toBe('completed');
    for (let n = 0; n < WORKFLOWS; n++) expect(runs[n]).toBe(1);
  });

  it('workflows claimed but not at their first step yet take the free slots: later claim rounds take no more', async () => {
    set = await ExecutorSet.create(dialect);
    const client = await set.executor([], false);
    // A peer on the database (with nothing registered), so the worker below claims by its budget.
    await set.executor([], SMALL);
    const held = new Held();
    const worker = await set.executor([held, new LateFlow(held)], SMALL);
    worker.worker!.loop.peerJoined();

    const ids: string[] = [];
    for (let n = 0; n < WORKFLOWS; n++) ids.push(await client.dispatch(LateFlow, [n]));
    // Its slots read free the whole time (no first step has reserved one): only the workflows it holds,
    // each counted for the slot its first step will take, can stop it.
    await waitUntil(() => firstCall.entered > 0, 'a workflow to reach its first call');
    const { loop } = worker.worker!;
    for (let round = 0; round < 5; round++) {
      loop.workAnnounced();
      await waitUntil(() => !loop.busy, 'a claim round looking for workflows to end');
    }
    // Two free slots: two workflows, whichever way the dispatches met the rounds.
    expect(firstCall.entered).toBe(2);
    expect(inMemory(worker)).toBe(2);

    firstCall.open();
    gate.open();
    for (const id of ids) expect((await client.waitFor(id, { timeout: '30s' })).state).toBe('completed');
    for (let n = 0; n < WORKFLOWS; n++) expect(runs[n]).toBe(1);
  });

  it('alone on the database, a worker whose slots are full still takes the whole backlog (its queue orders it by priority)', async () => {
    set = await ExecutorSet.create(dialect);
    const client = await set.executor([], false);
    const only = await set.executor(instances(), SMALL);
    const ids: string[] = [];
    for (let n = 0; n < WORKFLOWS; n++) ids.push(await client.dispatch(HeldFlow, [n]));
    await waitUntil(() => gate.entered === 2 && inMemory(only) === WORKFLOWS, 'the worker to hold every workflow').catch(async (error: unknown) => {
      // What the worker got to, and what it logged: enough to tell a missed claim from a body that ran twice.
      const states = await Promise.all(ids.map(async (id) => (await client.getExecution(id)).state));
      const logged = set!.logger.lines.map((line) => `${line.level}: ${line.message}`).join('\n');
      throw new Error(`${(error as Error).message}: bodies entered ${gate.entered}, workflows in memory ${inMemory(only)}, states ${states.join(',')}\n${logged}`);
    });
    gate.open();
    for (const id of ids) expect((await client.waitFor(id, { timeout: '30s' })).state).toBe('completed');
    for (let n = 0; n < WORKFLOWS; n++) expect(runs[n]).toBe(1);
  });
});
