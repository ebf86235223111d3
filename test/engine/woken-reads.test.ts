import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, Stent, StentExecutor, type WorkerOptions } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, Gate, QUICK_WORKER } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/**
 * A worker whose runs wait on steps finished by another worker (their activity's queue is served
 * elsewhere) is woken for many runs at once; it reads their waits back in one grouped query
 * (store.loadStepsOf) instead of one per run. The grouped read must hand each run exactly its own rows.
 */

/** Runs on the 'hand' queue, which only the helper worker serves. The first call of each round waits at the gate. */
class HandActs {
  readonly gate = new Gate();
  async twice(n: number, round: number): Promise<number> {
    if (round === 0) await this.gate.wait();
    return n * 2;
  }
  async one(n: number): Promise<number> {
    return n;
  }
}
defineActivity(HandActs, { name: 'HandActs', queue: 'hand' });

/** Three activities in a row on the other worker. */
class HandedFlow {
  constructor(private readonly acts: HandActs) {}
  async run(n: number): Promise<number> {
    let value = n;
    for (let round = 0; round < 3; round++) value = await this.acts.twice(value, round);
    return value;
  }
}
defineWorkflow(HandedFlow, { name: 'HandedFlow' });

/** `count` activities at once (to give an execution many positions). */
class WideFlow {
  constructor(private readonly acts: HandActs) {}
  async run(count: number): Promise<number> {
    const values = await Promise.all(Array.from({ length: count }, (_, i) => this.acts.one(i)));
    return values.length;
  }
}
defineWorkflow(WideFlow, { name: 'WideFlow' });

const WORKER: WorkerOptions = { ...QUICK_WORKER, concurrency: 32 };

describe.each(DIALECTS)('runs woken together read their waits in one query on %s', (dialect) => {
  let set: ExecutorSet;
  afterEach(async () => set?.dispose());

  it('results finished by another worker reach every run, the waits of several runs read at once', async () => {
    set = await ExecutorSet.create(dialect);
    const store = await createStentStore({ database: set.db.options });
    const groupedReads: number[] = [];
    const observed = new Proxy(store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property === 'loadStepsOf') {
          return (requests: Array<{ executionId: string; positions: number[] }>) => {
            groupedReads.push(requests.length);
            return target.loadStepsOf(requests);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    // The workflows' worker serves only the default queue: every activity runs on the helper.
    const planner = new StentExecutor({ store: observed, worker: { ...WORKER, queues: ['default'] }, logger: set.logger });
    const plannerActs = new HandActs();
    planner.register(plannerActs, new HandedFlow(plannerActs));
    set.onCleanup(() => planner.close('2s').catch(() => undefined));
    await planner.start();
    const helperActs = new HandActs();
    await set.executor([helperActs, new HandedFlow(helperActs)], { ...WORKER, queues: ['hand'] });

    const runs = 12;
    const ids = await Promise.all(Array.from({ length: runs }, (_, i) => planner.dispatch(HandedFlow, [i + 1])));
    // All first activities start on the helper, then finish together: their runs are woken at once.
    await waitUntil(() => helperActs.gate.entered === runs, 'the first activity of every run to start on the helper');
    expect(plannerActs.gate.entered).toBe(0);
    helperActs.gate.open();
    for (const [i, id] of ids.entries()) {
      const outcome = await planner.waitFor<number>(id, { timeout: '30s' });
      expect(outcome.ok && outcome.value, id).toBe((i + 1) * 8);
    }
    expect(groupedReads.some((executions) => executions > 1), `grouped reads: ${JSON.stringify(groupedReads)}`).toBe(true);
  });

  it('loadStepsOf returns exactly the asked rows, also when the executions are read in several groups', async () => {
    set = await ExecutorSet.create(dialect);
    const acts = new HandActs();
    acts.gate.open();
    const executor = await set.executor([acts, new WideFlow(acts)], { ...WORKER, queues: ['default', 'hand'] });
    const wide = await executor.dispatch(WideFlow, [1000]);
    const small = await executor.dispatch(WideFlow, [5]);
    const other = await executor.dispatch(WideFlow, [3]);
    for (const id of [wide, small, other]) expect((await executor.waitFor(id, { timeout: '60s' })).ok).toBe(true);

    const all = Array.from({ length: 1000 }, (_, i) => i);
    // 1000 positions x 3 executions exceeds one group: the third execution is read in a second query.
    const requests = [
      { executionId: wide, positions: all },
      { executionId: small, positions: [0, 1] },
      { executionId: other, positions: [2, 7] },
      { executionId: 'no-such-execution', positions: [0] },
      { executionId: small, positions: [] },
    ];
    const rows = await executor.store.loadStepsOf(requests);
    const pairs = rows.map((step) => `${step.executionId}@${step.position}`).sort();
    const asked = new Map(requests.map((request) => [request.executionId, new Set(request.positions)]));
    asked.set(small, new Set([0, 1]));
    const journals = (await Promise.all([wide, small, other].map((id) => executor.store.loadJournal(id)))).flat();
    const expected = journals.filter((step) => asked.get(step.executionId)!.has(step.position)).map((step) => `${step.executionId}@${step.position}`).sort();
    expect(expected.length).toBeGreaterThanOrEqual(1003);
    expect(pairs).toEqual(expected);
    // The same rows as the one-execution read.
    const single = await executor.store.loadSteps(small, [0, 1]);
    expect(rows.filter((step) => step.executionId === small).sort((a, b) => a.position - b.position)).toEqual(single.sort((a, b) => a.position - b.position));
    expect(await executor.store.loadStepsOf([])).toEqual([]);
  });
});
