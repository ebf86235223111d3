import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, ManualClock, StentExecutor, type StentStore, type RunArgs, type WorkerOptions, type WorkflowRef } from 'nestjs-stent';
import { DIALECTS, listenToWakeEvents, type HeardEvent } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { overrideStore } from '../support/store-proxy.js';
import { waitUntil } from '../support/wait.js';

/**
 * A work announcement says what there is to claim: executions (a dispatch, a woken or released run),
 * activity steps waiting for a claim, or only steps with flow keys. A worker told of one kind asks the
 * database for that kind only at its next claim round: in a busy cluster most announcements are
 * dispatches, and each cost every other worker a claim of steps and a read of keyed room that found
 * nothing new; under per-key limits most step announcements are of keyed calls, which a claim of plain
 * steps never finds.
 */

/** Keyed: a worker that serves it reads keyed room at rounds that look for steps; a first call of it is left to claims. */
class KindsSync {
  async sync(tenant: string): Promise<string> {
    return `synced ${tenant}`;
  }
}
defineActivity(KindsSync, { name: 'KindsSync', concurrency: { key: (args) => args[0] as string, limit: 1 } });

class KindsFlow {
  constructor(private readonly acts: KindsSync) {}
  async run(tenant: string): Promise<string> {
    return this.acts.sync(tenant);
  }
}
defineWorkflow(KindsFlow, { name: 'KindsFlow' });

/** Without flow limits: any claim of it takes its steps. */
class KindsPlain {
  async plain(n: number): Promise<number> {
    return n;
  }
}
defineActivity(KindsPlain, { name: 'KindsPlain' });

/** A keyed call and two plain ones at once: on a worker of one slot, one plain call starts at insert and the rest wait for claims. */
class KindsMixedFlow {
  constructor(
    private readonly keyed: KindsSync,
    private readonly acts: KindsPlain,
  ) {}
  async run(tenant: string): Promise<string> {
    const [synced, a, b] = await Promise.all([this.keyed.sync(tenant), this.acts.plain(1), this.acts.plain(2)]);
    return `${synced} ${a + b}`;
  }
}
defineWorkflow(KindsMixedFlow, { name: 'KindsMixedFlow' });

/** A plain call and a keyed one at once: on a worker of one slot, the plain call takes it at insert and the keyed one waits with no slot free. */
class KindsPlainThenKeyedFlow {
  constructor(
    private readonly keyed: KindsSync,
    private readonly acts: KindsPlain,
  ) {}
  async run(tenant: string): Promise<string> {
    const [n, synced] = await Promise.all([this.acts.plain(1), this.keyed.sync(tenant)]);
    return `${synced} ${n}`;
  }
}
defineWorkflow(KindsPlainThenKeyedFlow, { name: 'KindsPlainThenKeyedFlow' });

/** On the 'far' queue, which only a helper worker serves: its results wake a run held by another worker. */
class KindsFar {
  async far(n: number): Promise<number> {
    return n + 1;
  }
}
defineActivity(KindsFar, { name: 'KindsFar', queue: 'far' });

class KindsFarFlow {
  constructor(private readonly acts: KindsFar) {}
  async run(n: number): Promise<number> {
    return this.acts.far(await this.acts.far(n));
  }
}
defineWorkflow(KindsFarFlow, { name: 'KindsFarFlow' });

type Asked = 'executions' | 'steps' | 'keyed room';
type Listener = Parameters<StentStore['subscribe']>[0];
type WakeEvent = Parameters<Listener>[0];

/** `store` counting what its worker's claim rounds ask for, and telling its subscribers (the worker among them) of events. */
function observed(store: StentStore): { store: StentStore; asked: Asked[]; wake: (event: WakeEvent) => void } {
  const asked: Asked[] = [];
  const listeners: Listener[] = [];
  const proxy = overrideStore(store, {
    claimExecutions: (...args: Parameters<StentStore['claimExecutions']>) => {
      asked.push('executions');
      return store.claimExecutions(...args);
    },
    claimSteps: (...args: Parameters<StentStore['claimSteps']>) => {
      if (!args[0].suspect) asked.push('steps');
      return store.claimSteps(...args);
    },
    keyedRoom: (...args: Parameters<StentStore['keyedRoom']>) => {
      asked.push('keyed room');
      return store.keyedRoom(...args);
    },
    subscribe: (next: Listener) => {
      listeners.push(next);
      return store.subscribe(next);
    },
  });
  return { store: proxy, asked, wake: (event) => listeners.forEach((listener) => listener(event)) };
}

describe.each(DIALECTS)('work announced by kind (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('a round after executions were announced claims executions only; after steps, steps only; after flow steps, keyed room only; untyped, all', async () => {
    set = await ExecutorSet.create(dialect);
    // The clock stands still: no poll comes, so every round below follows the announcement made.
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const probe = observed(await createStentStore({ database: set.db.options }));
    const executor = new StentExecutor({ store: probe.store, worker: { concurrency: 4, lease: '1d' }, logger: set.logger, clock });
    set.onCleanup(() => executor.close('2s'));
    const acts = new KindsSync();
    executor.register(acts, new KindsFlow(acts));
    await executor.start();
    const { loop } = executor.worker!;

    const roundAfter = async (event: WakeEvent): Promise<Asked[]> => {
      await waitUntil(() => !loop.busy, 'the claim round under way to end');
      probe.asked.length = 0;
      probe.wake(event);
      await waitUntil(() => probe.asked.length > 0 && !loop.busy, 'a claim round after the announcement');
      return [...new Set(probe.asked)].sort();
    };

    expect(await roundAfter({ type: 'work', of: 'executions' })).toEqual(['executions']);
    expect(await roundAfter({ type: 'work', of: 'steps' })).toEqual(['keyed room', 'steps']);
    // No key has steps waiting: the read of keyed room is all the round asks.
    expect(await roundAfter({ type: 'work', of: 'flow' })).toEqual(['keyed room']);
    expect(await roundAfter({ type: 'work' })).toEqual(['executions', 'keyed room', 'steps']);
  });

  it('with polls an hour apart, a dispatch from another executor is claimed and its keyed step run, on announcements alone', async () => {
    set = await ExecutorSet.create(dialect);
    const acts = new KindsSync();
    const instances = [acts, new KindsFlow(acts)];
    const dispatcher = await set.executor(instances, false);
    // Its first poll is past the start-up round: the announcements are what bring the work to claims.
    await set.executor(instances, { concurrency: 4, pollInterval: '1h', maxPollInterval: '1h', lease: '10s' });
    const ids = await Promise.all(['acme', 'acme', 'globex'].map((tenant) => dispatcher.dispatch(KindsFlow, [tenant])));
    const results = await Promise.all(ids.map((id) => dispatcher.waitFor(id, { timeout: '20s' })));
    expect(results.map((result) => result.ok && result.value)).toEqual(['synced acme', 'synced acme', 'synced globex']);
  });
});

describe('work announcements across processes on postgres', () => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  /** A new database, and the wake events heard on its channel from now on (as another process hears them). */
  async function listening(): Promise<HeardEvent[]> {
    set = await ExecutorSet.create('postgres');
    const { heard, end } = await listenToWakeEvents(set.db.schema!);
    set.onCleanup(end);
    return heard;
  }

  const workIn = (heard: HeardEvent[]) => heard.filter((event) => event.type === 'work');

  /**
   * Dispatches `workflow` from an executor without a worker, then starts a worker with `worker`'s options
   * and waits for the result: the work announcements heard for the dispatch, and those heard after it.
   */
  async function runAfterDispatch<W extends { run: (...args: never[]) => unknown }>(
    heard: HeardEvent[],
    instances: object[],
    workflow: WorkflowRef<W>,
    args: RunArgs<W>,
    worker: WorkerOptions,
  ): Promise<{ value: unknown; forDispatch: HeardEvent[]; after: HeardEvent[] }> {
    const dispatcher = await set!.executor(instances, false);
    const id = await dispatcher.dispatch(workflow, args);
    await waitUntil(() => workIn(heard).length >= 1, 'the dispatch to be announced');
    const forDispatch = workIn(heard);
    heard.length = 0;
    await set!.executor(instances, worker);
    const result = await dispatcher.waitFor(id, { timeout: '20s' });
    return { value: result.ok && result.value, forDispatch, after: workIn(heard) };
  }

  it('a dispatch announces executions; a keyed step its worker looks for itself (a slot free there) is not announced to other processes', async () => {
    const heard = await listening();
    const acts = new KindsSync();
    // The keyed call, first of its run, goes in pending for a claim of the worker that wrote it, which has
    // slots free: other processes hear of no steps.
    const { value, forDispatch, after } = await runAfterDispatch(heard, [acts, new KindsFlow(acts)], KindsFlow, ['acme'], { concurrency: 4 });
    expect(forDispatch).toEqual([{ type: 'work', of: 'executions' }]);
    expect(value).toBe('synced acme');
    expect(after.filter((event) => event.of !== 'executions')).toEqual([]);
  });

  // On a worker of one slot: a plain call and a keyed one at once (the plain call takes the slot at insert,
  // the keyed one waits with no slot free), and a keyed call beside two plain ones (all but one plain call
  // left to claims).
  it.each([
    { what: 'a keyed step left to claims while its worker has no slot free is announced as flow steps', flow: KindsPlainThenKeyedFlow, value: 'synced acme 1', kind: 'flow', not: 'steps' },
    { what: 'a write that leaves a plain step and a keyed one to claims announces steps', flow: KindsMixedFlow, value: 'synced acme 3', kind: 'steps', not: 'flow' },
  ] as const)('$what', async ({ flow, value: expected, kind, not }) => {
    const heard = await listening();
    const keyed = new KindsSync();
    const plain = new KindsPlain();
    const { value, after } = await runAfterDispatch(heard, [keyed, plain, new flow(keyed, plain)], flow as WorkflowRef<{ run(tenant: string): Promise<string> }>, ['acme'], { concurrency: 1 });
    expect(value).toBe(expected);
    expect(after).toContainEqual({ type: 'work', of: kind });
    expect(after).not.toContainEqual({ type: 'work', of: not });
  });

  it('a result that wakes a run held by another worker announces woken and work of executions, not steps', async () => {
    const heard = await listening();
    const acts = new KindsFar();
    const instances = [acts, new KindsFarFlow(acts)];
    const dispatcher = await set!.executor(instances, false);
    // The workflow's worker serves the default queue only, the helper the 'far' queue only.
    await set!.executor(instances, { concurrency: 4, queues: ['default'] });
    await set!.executor(instances, { concurrency: 4, queues: ['far'] });
    const id = await dispatcher.dispatch(KindsFarFlow, [1]);
    const result = await dispatcher.waitFor(id, { timeout: '20s' });
    expect(result.ok && result.value).toBe(3);
    // Both results were recorded by the helper and woke the run held by the other worker.
    expect(heard.filter((event) => event.type === 'woken' && event.executionId === id).length).toBeGreaterThanOrEqual(1);
    const work = workIn(heard);
    expect(work).toContainEqual({ type: 'work', of: 'executions' });
    // Steps are announced by the writes that left them to claims (the workflow's worker does not serve their queue), never by a result.
    expect(work.filter((event) => event.of === undefined)).toEqual([]);
  });
});
