import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, StentExecutor, type DispatchOptions, type WorkerOptions } from 'nestjs-stent';
import { killAllProcesses, WorkerProcess } from '../support/worker-process.js';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { finalStateOf, waitUntil } from '../support/wait.js';
import { openInspector, type Inspector } from '../support/inspector.js';
import { invariantProblems } from '../support/invariants.js';
import { holdAndSignalInstances, holdInstances, HoldsActivityFlow, SignalThenHoldFlow } from '../fixtures/holding-flows.js';

/** A process of its own (another dispatcher) that dispatches HoldsActivityFlow executions and prints their ids. */
function startDispatcher(url: string, worker: WorkerOptions | false, dispatch: Array<{ args: [string, number]; options?: DispatchOptions }>, dieAfterDispatch = false): Promise<WorkerProcess> {
  return WorkerProcess.start({
    url,
    worker,
    fixture: 'holding-flows.js',
    instances: 'holdInstances',
    dispatch: dispatch.map((d) => ({ workflow: 'HoldsActivityFlow', ...d })),
    dieAfterDispatch,
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(DIALECTS)('claim at dispatch on %s', (dialect) => {
  let set: ExecutorSet;
  let inspector: Inspector | undefined;
  afterEach(async () => {
    await killAllProcesses();
    await inspector?.close();
    inspector = undefined;
    await set?.dispose();
  });

  it('the same idempotencyKey dispatched at once by the idle worker process and by another process gives one execution, run once', async () => {
    set = await ExecutorSet.create(dialect);
    const a = await set.executor(holdInstances());
    const b = await set.executor(holdInstances(), false);
    inspector = await openInspector(set.db);
    await delay(300);
    const keys = Array.from({ length: 25 }, (_, i) => `key-${i}`);
    const pairs = await Promise.all(
      keys.map(async (key, i) => {
        const first = i % 2 === 0 ? a : b;
        const second = first === a ? b : a;
        return Promise.all([first.dispatch(HoldsActivityFlow, [key, 50], { idempotencyKey: key }), second.dispatch(HoldsActivityFlow, [key, 50], { idempotencyKey: key })]);
      }),
    );
    for (const [x, y] of pairs) expect(x).toBe(y);
    const ids = pairs.map(([x]) => x);
    for (const id of ids) expect(await finalStateOf(b, id)).toBe('completed');
    expect((await b.listExecutions({}, { limit: 1000 })).total).toBe(keys.length);
    for (const id of ids) expect((await b.getJournal(id)).filter((s) => s.kind === 'activity').map((s) => s.attempts)).toEqual([1]);
    expect(await invariantProblems(inspector)).toEqual([]);
  });

  it('executions dispatched while the local worker closes are not left claimed by it (another worker runs them before its lease would expire)', async () => {
    set = await ExecutorSet.create(dialect);
    const a = await set.executor(holdInstances(), { ...QUICK_WORKER, lease: '20s' });
    await set.executor(holdInstances(), { ...QUICK_WORKER, lease: '20s' });
    const observer = await set.executor(holdInstances(), false);
    await delay(300);
    const ownerA = a.worker!.ownerId;
    const dispatches = Array.from({ length: 30 }, (_, i) => a.dispatch(HoldsActivityFlow, [`c${i}`, 20]));
    const closing = a.close('2s');
    const settled = await Promise.allSettled(dispatches);
    await closing;
    const ids = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    expect(ids.length).toBeGreaterThan(0);
    const states: Record<string, string> = {};
    const deadline = Date.now() + 6000;
    for (const id of ids) states[id] = await finalStateOf(observer, id, `${Math.max(100, deadline - Date.now())}ms`);
    const stuck = Object.entries(states).filter(([, state]) => state !== 'completed');
    const heldByA = (await observer.listExecutions({}, { limit: 1000 })).items.filter((e) => e.leaseOwner === ownerA).map((e) => e.id);
    expect({ stuck, heldByA }).toEqual({ stuck: [], heldByA: [] });
  });

  it('a dispatching process killed right after dispatch: another worker runs its executions once the lease expires', async () => {
    set = await ExecutorSet.create(dialect);
    await set.executor(holdInstances(), { ...QUICK_WORKER, lease: '2s' });
    const observer = await set.executor(holdInstances(), false);
    inspector = await openInspector(set.db);
    const dispatcher = await startDispatcher(set.db.url, { ...QUICK_WORKER, lease: '2s' }, [{ args: ['k1', 100] }, { args: ['k2', 100] }, { args: ['k3', 100] }], true);
    const ids = await dispatcher.dispatchedIds();
    expect((await dispatcher.exited).signal).toBe('SIGKILL');
    for (const id of ids) expect(await finalStateOf(observer, id, '10s')).toBe('completed');
    expect(await invariantProblems(inspector)).toEqual([]);
  });

  it('an older, higher-priority execution dispatched by another process starts before a later local dispatch when the worker can hold only one', async () => {
    set = await ExecutorSet.create(dialect);
    const a = await set.executor(holdInstances(), { concurrency: 4, maxActiveWorkflows: 1, pollInterval: '100ms', maxPollInterval: '1s', lease: '10s' });
    const observer = await set.executor(holdInstances(), false);
    await delay(1500); // idle: polls back off
    const dispatcher = await startDispatcher(set.db.url, false, [{ args: ['high', 1500], options: { priority: 10 } }]);
    const [high] = await dispatcher.dispatchedIds();
    const low = await a.dispatch(HoldsActivityFlow, ['low', 1500], { priority: 0 });
    expect(await finalStateOf(observer, high!)).toBe('completed');
    expect(await finalStateOf(observer, low)).toBe('completed');
    const h = await observer.getExecution(high!);
    const l = await observer.getExecution(low);
    expect({ highStartedFirst: h.startedAt!.getTime() <= l.startedAt!.getTime(), high: h.startedAt, low: l.startedAt }).toMatchObject({ highStartedFirst: true });
  });

  it('maxActiveWorkflows holds when a dispatch is claimed while a claim round is still loading a journal', async () => {
    set = await ExecutorSet.create(dialect);
    // a: a worker whose journal reads are slow (a loaded database)
    const store = await createStentStore({ database: set.db.options });
    const loadJournal = store.loadJournal.bind(store);
    store.loadJournal = async (id: string) => {
      await delay(500);
      return loadJournal(id);
    };
    const a = new StentExecutor({ store, worker: { ...QUICK_WORKER, suspendAfter: '200ms', maxActiveWorkflows: 2 }, logger: set.logger });
    a.register(...holdAndSignalInstances());
    set.onCleanup(() => a.close('1s').catch(() => undefined));
    await a.start();
    const x = await a.dispatch(SignalThenHoldFlow, ['x', 1500]);
    await waitUntil(async () => (await a.getExecution(x)).leaseOwner === null && (await a.getJournal(x)).length === 1, 'x to be suspended on its signal');
    let max = 0;
    const sampler = setInterval(() => (max = Math.max(max, a.worker!.stats().activeWorkflows)), 2);
    try {
      await a.sendSignal(x, 'go', null); // a claims x again and loads its journal (slowly)
      await waitUntil(async () => (await a.getExecution(x)).leaseOwner === a.worker!.ownerId, 'a to claim x', 5000, 2);
      const l1 = await a.dispatch(HoldsActivityFlow, ['l1', 1500]);
      const l2 = await a.dispatch(HoldsActivityFlow, ['l2', 1500]);
      for (const id of [x, l1, l2]) expect(await finalStateOf(a, id)).toBe('completed');
    } finally {
      clearInterval(sampler);
    }
    expect(max).toBeLessThanOrEqual(2);
  });

  it('an execution whose insert commits after the local worker drained is not left claimed by the stopped worker', async () => {
    set = await ExecutorSet.create(dialect);
    // a: dispatches through a slow database (the insert takes 300 ms)
    const store = await createStentStore({ database: set.db.options });
    const createExecution = store.createExecution.bind(store);
    store.createExecution = async (...args: Parameters<typeof createExecution>) => {
      await delay(300);
      return createExecution(...args);
    };
    const a = new StentExecutor({ store, worker: { ...QUICK_WORKER, lease: '30s' }, logger: set.logger });
    a.register(...holdAndSignalInstances());
    set.onCleanup(() => a.close('1s').catch(() => undefined));
    await a.start();
    await delay(300);
    const dispatching = a.dispatch(HoldsActivityFlow, ['during-drain', 20]);
    await a.drain('1s'); // an ordinary rolling deploy: stop taking work, keep answering API calls
    const id = await dispatching;
    await set.executor(holdAndSignalInstances(), { ...QUICK_WORKER, lease: '30s' }); // the worker that takes over
    const state = await finalStateOf(a, id, '5s');
    const info = await a.getExecution(id);
    expect({ state, leaseOwner: info.leaseOwner === a.worker!.ownerId ? 'the drained worker' : info.leaseOwner }).toEqual({ state: 'completed', leaseOwner: null });
  });
});
