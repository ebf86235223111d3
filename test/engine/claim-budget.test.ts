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
    await set?.dispose();
    set = undefined;
    gate = new Gate();
    for (const key of Object.keys(runs)) delete runs[Number(key)];
  });

  it('with other workers on the database, a worker whose slots are full takes no more workflows than a slot-set of queue', async () => {
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
    // Four activities run; each worker holds besides at most a slot-set (two) of steps queued for it, so
    // at most eight workflows are held (nine if a claim raced a local start) and the rest stay in the
    // database, unclaimed, for whoever frees a slot first. Watched over several claim rounds.
    const watchUntil = Date.now() + 1_000;
    while (Date.now() < watchUntil) {
      expect(inMemory(first) + inMemory(second)).toBeLessThanOrEqual(9);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const unclaimed = await client.listExecutions({ workflowName: 'HeldFlow', state: 'pending' });
    expect(unclaimed.total).toBeGreaterThanOrEqual(WORKFLOWS - 9);
    expect(inMemory(first)).toBeGreaterThan(0);
    expect(inMemory(second)).toBeGreaterThan(0);

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
    await waitUntil(() => gate.entered === 2 && inMemory(only) === WORKFLOWS, 'the worker to hold every workflow');
    gate.open();
    for (const id of ids) expect((await client.waitFor(id, { timeout: '30s' })).state).toBe('completed');
    for (let n = 0; n < WORKFLOWS; n++) expect(runs[n]).toBe(1);
  });
});
