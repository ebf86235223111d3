import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, setActivityMethodOptions, Stent, type StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, FAST_WORKER, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

// ---- probe: proves that a worker is actively claiming work -----------------------------------------
//
// The first attempt of a probe activity fails, so its retry is only ever run through a claim round of
// the worker (never through the in-process fast path of a freshly recorded step). A probe dispatched
// after a task was recorded and finishing therefore shows that the worker ran claim rounds (for
// activities and for workflows) while that task was waiting, and passed it over.

class FailsFirstAttempt {
  async plain(): Promise<string> {
    if (Stent.activity().attempt === 1) throw new Error('first attempt fails on purpose');
    return 'probe ok';
  }
  async cpu(): Promise<string> {
    if (Stent.activity().attempt === 1) throw new Error('first attempt fails on purpose');
    return 'probe ok';
  }
}
setActivityMethodOptions(FailsFirstAttempt.prototype, 'cpu', { tags: ['cpu'] });
defineActivity(FailsFirstAttempt, { retry: { maxAttempts: 3, initialDelay: '20ms', jitter: false } });

class FailsFirstAttemptFlow {
  constructor(private readonly probe: FailsFirstAttempt) {}
  async run(tagged: boolean): Promise<string> {
    return tagged ? this.probe.cpu() : this.probe.plain();
  }
}
defineWorkflow(FailsFirstAttemptFlow);

function probeInstances(): object[] {
  const probe = new FailsFirstAttempt();
  return [probe, new FailsFirstAttemptFlow(probe)];
}

/** Runs a probe execution through `executor`'s worker (tagged 'cpu' for a worker serving that tag). */
async function proveClaiming(executor: StentExecutor, tagged = false): Promise<void> {
  const id = await executor.dispatch(FailsFirstAttemptFlow, [tagged], tagged ? { tags: ['cpu'] } : {});
  const result = await executor.waitFor(id, { timeout: '30s' });
  expect(result.ok, 'the probe execution completes').toBe(true);
  const [step] = await executor.getJournal(id);
  expect(step?.attempts, 'the probe activity was retried through a claim round').toBe(2);
}

// ---- queues ------------------------------------------------------------------------------------------

/** Activities that remember which worker ran them. */
class SlowLane {
  readonly calls: number[] = [];
  constructor(readonly who: string) {}
  async crunch(n: number): Promise<string> {
    this.calls.push(n);
    return `${this.who}:${n * 2}`;
  }
}
setActivityMethodOptions(SlowLane.prototype, 'crunch', { queue: 'slow' });
defineActivity(SlowLane);

class CrunchFlow {
  constructor(private readonly lane: SlowLane) {}
  async run(n: number): Promise<string> {
    return this.lane.crunch(n);
  }
}
defineWorkflow(CrunchFlow);

/** A workflow that says which worker ran it (default queue, no tags). */
class WhoFlow {
  constructor(readonly who: string) {}
  async run(x: string): Promise<string> {
    return `${this.who}:${x}`;
  }
}
defineWorkflow(WhoFlow);

/** The same on queue 'slow'. */
class SlowWhoFlow {
  constructor(readonly who: string) {}
  async run(x: string): Promise<string> {
    return `${this.who}:${x}`;
  }
}
defineWorkflow(SlowWhoFlow, { queue: 'slow' });

// ---- tags --------------------------------------------------------------------------------------------

class Gpu {
  readonly calls: string[] = [];
  constructor(readonly who: string) {}
  async render(scene: string): Promise<string> {
    this.calls.push(scene);
    return `${this.who}:${scene}`;
  }
}
defineActivity(Gpu, { tags: ['gpu'] });

class RenderFlow {
  constructor(private readonly gpu: Gpu) {}
  async run(scene: string): Promise<string> {
    return this.gpu.render(scene);
  }
}
defineWorkflow(RenderFlow);

// ---- priorities --------------------------------------------------------------------------------------

/** Records the order in which executions start. */
class Ranked {
  constructor(private readonly order: string[]) {}
  async run(label: string): Promise<string> {
    this.order.push(label);
    return label;
  }
}
defineWorkflow(Ranked);

class Deferred<T = void> {
  resolve!: (value: T) => void;
  readonly promise = new Promise<T>((resolve) => {
    this.resolve = resolve;
  });
}

class HeldInOrder {
  readonly order: string[] = [];
  readonly gate = new Deferred();
  async hold(): Promise<string> {
    await this.gate.promise;
    return 'released';
  }
  async work(label: string): Promise<string> {
    this.order.push(label);
    return label;
  }
  async urgent(label: string): Promise<string> {
    this.order.push(label);
    return label;
  }
}
setActivityMethodOptions(HeldInOrder.prototype, 'urgent', { priority: 10 });
defineActivity(HeldInOrder);

class HoldFlow {
  constructor(private readonly bench: HeldInOrder) {}
  async run(): Promise<string> {
    return this.bench.hold();
  }
}
defineWorkflow(HoldFlow);

class JobFlow {
  constructor(private readonly bench: HeldInOrder) {}
  async run(label: string, urgent: boolean): Promise<string> {
    return urgent ? this.bench.urgent(label) : this.bench.work(label);
  }
}
defineWorkflow(JobFlow);

// ---- registration ------------------------------------------------------------------------------------

class Helper {
  readonly calls: string[] = [];
  constructor(readonly who: string) {}
  async assist(x: string): Promise<string> {
    this.calls.push(x);
    return `${this.who} assisted ${x}`;
  }
}
defineActivity(Helper);

class HelperFlow {
  constructor(private readonly helper: Helper) {}
  async run(x: string): Promise<string> {
    return `${await this.helper.assist(x)} in ${this.constructor.name}`;
  }
}
defineWorkflow(HelperFlow);

describe.each(DIALECTS)('routing on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  async function firstStep(id: string, name: string) {
    return waitUntil(async () => {
      const [step] = await harness.executor.getJournal(id);
      return step && step.name === name ? step : undefined;
    }, `step ${name} of ${id} to be journaled`);
  }

  // ---- queues ----------------------------------------------------------------------------------------

  it("an activity on queue 'slow' is never taken by a worker not serving it and waits for one that does", async () => {
    const laneA = new SlowLane('A');
    harness = await createHarness(dialect, [new CrunchFlow(laneA), laneA, ...probeInstances()]);
    const id = await harness.executor.dispatch(CrunchFlow, [21]);
    await firstStep(id, 'SlowLane.crunch');

    await proveClaiming(harness.executor);
    const [waiting] = await harness.executor.getJournal(id);
    expect(waiting).toMatchObject({ state: 'pending', attempts: 0 });
    expect(laneA.calls).toEqual([]);
    expect((await harness.executor.getExecution(id)).state).not.toBe('completed');

    const laneB = new SlowLane('B');
    await harness.spawn({ ...FAST_WORKER, queues: ['slow'] }, laneB);
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    expect(result.ok).toBe(true);
    expect(result.value).toBe('B:42');
    expect(laneB.calls).toEqual([21]);
    expect(laneA.calls).toEqual([]);
  });

  it("a workflow on queue 'slow' stays pending until a worker serving 'slow' starts", async () => {
    harness = await createHarness(dialect, [new SlowWhoFlow('A'), ...probeInstances()]);
    const id = await harness.executor.dispatch(SlowWhoFlow, ['x']);
    expect((await harness.executor.getExecution(id)).queue).toBe('slow');

    await proveClaiming(harness.executor);
    const waiting = await harness.executor.getExecution(id);
    expect(waiting).toMatchObject({ state: 'pending', startedAt: null, leaseOwner: null });

    await harness.spawn({ ...FAST_WORKER, queues: ['slow'] }, new SlowWhoFlow('B'));
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    expect(result.value).toBe('B:x');
  });

  it('the dispatch queue option routes a default-queue workflow to that queue; a worker serving both takes both', async () => {
    harness = await createHarness(dialect, [new WhoFlow('A'), ...probeInstances()]);
    const routed = await harness.executor.dispatch(WhoFlow, ['routed'], { queue: 'slow' });
    expect((await harness.executor.getExecution(routed)).queue).toBe('slow');

    await proveClaiming(harness.executor);
    expect(await harness.executor.getExecution(routed)).toMatchObject({ state: 'pending', startedAt: null });

    // B serves only 'slow', C serves both: a default-queue dispatch cannot go to B
    await harness.executor.drain(0);
    await harness.spawn({ ...FAST_WORKER, queues: ['slow'] }, new WhoFlow('B'));
    expect((await harness.executor.waitFor(routed, { timeout: '30s' })).value).toBe('B:routed');
    const plain = await harness.executor.dispatch(WhoFlow, ['plain']);
    await harness.spawn({ ...FAST_WORKER, queues: ['default', 'slow'] }, new WhoFlow('C'));
    expect((await harness.executor.waitFor(plain, { timeout: '30s' })).value).toBe('C:plain');
  });

  // ---- tags ------------------------------------------------------------------------------------------

  it("a task tagged 'gpu' is only taken by a worker with the tag 'gpu'", async () => {
    const gpuA = new Gpu('A');
    harness = await createHarness(dialect, [new RenderFlow(gpuA), gpuA, ...probeInstances()], { ...FAST_WORKER, tags: ['cpu'] });
    // the workflow carries 'cpu' so that A runs it; its render step carries 'gpu'
    const id = await harness.executor.dispatch(RenderFlow, ['scene-1'], { tags: ['cpu'] });
    const step = await firstStep(id, 'Gpu.render');
    expect(step.state).toBe('pending');

    await proveClaiming(harness.executor, true);
    expect((await harness.executor.getJournal(id))[0]).toMatchObject({ state: 'pending', attempts: 0 });
    expect(gpuA.calls).toEqual([]);

    const gpuB = new Gpu('B');
    await harness.spawn({ ...FAST_WORKER, tags: ['gpu'] }, gpuB);
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    expect(result.value).toBe('B:scene-1');
    expect(gpuB.calls).toEqual(['scene-1']);
    expect(gpuA.calls).toEqual([]);
  });

  it('the dispatch tags option: a tagged worker takes executions with one of its tags and no untagged ones; an untagged worker takes any', async () => {
    harness = await createHarness(dialect, [new WhoFlow('A'), ...probeInstances()], { ...FAST_WORKER, tags: ['cpu'] });
    const untagged = await harness.executor.dispatch(WhoFlow, ['untagged']);
    const gpu = await harness.executor.dispatch(WhoFlow, ['gpu'], { tags: ['gpu'] });
    expect((await harness.executor.getExecution(gpu)).tags).toEqual(['gpu']);

    await proveClaiming(harness.executor, true);
    expect(await harness.executor.getExecution(gpu)).toMatchObject({ state: 'pending', startedAt: null });
    expect(await harness.executor.getExecution(untagged)).toMatchObject({ state: 'pending', startedAt: null });

    // B carries 'gpu' (among others): it takes the gpu execution, not the untagged one
    // (both were claimable in every claim round of B: the one that took 'gpu' passed the untagged one over)
    await harness.spawn({ ...FAST_WORKER, tags: ['other', 'gpu'] }, new WhoFlow('B'));
    expect((await harness.executor.waitFor(gpu, { timeout: '30s' })).value).toBe('B:gpu');
    expect(await harness.executor.getExecution(untagged)).toMatchObject({ state: 'pending', startedAt: null });

    await harness.spawn(FAST_WORKER, new WhoFlow('C'));
    expect((await harness.executor.waitFor(untagged, { timeout: '30s' })).value).toBe('C:untagged');
  });

  // ---- priorities --------------------------------------------------------------------------------------

  it('with a backlog, executions dispatched with a higher priority start first', async () => {
    const order: string[] = [];
    harness = await createHarness(dialect, [new Ranked(order)], false);
    const priorities: Array<[string, number]> = [
      ['p0', 0],
      ['p5', 5],
      ['p1', 1],
      ['p10', 10],
      ['p-2', -2],
      ['p3', 3],
    ];
    const ids: string[] = [];
    for (const [label, priority] of priorities) ids.push(await harness.executor.dispatch(Ranked, [label], { priority }));
    expect((await harness.executor.getExecution(ids[3]!)).priority).toBe(10);

    await harness.spawn({ ...FAST_WORKER, concurrency: 1 }, new Ranked(order));
    for (const id of ids) expect((await harness.executor.waitFor(id, { timeout: '30s' })).ok).toBe(true);
    expect(order).toEqual(['p10', 'p5', 'p3', 'p1', 'p0', 'p-2']);
  });

  it("with concurrency 1 and a backlog of activity work, the work of higher-priority dispatches runs first", async () => {
    const bench = new HeldInOrder();
    harness = await createHarness(dialect, [bench, new HoldFlow(bench), new JobFlow(bench)], { ...FAST_WORKER, concurrency: 1 });
    const hold = await harness.executor.dispatch(HoldFlow, []);
    await waitUntil(async () => (await harness.executor.getJournal(hold))[0]?.state === 'running', 'the single slot to be taken');

    const jobs: Array<[string, number]> = [
      ['p0', 0],
      ['p7', 7],
      ['p3', 3],
      ['p9', 9],
    ];
    const ids: string[] = [];
    for (const [label, priority] of jobs) ids.push(await harness.executor.dispatch(JobFlow, [label, false], { priority }));
    for (const id of ids) await firstStep(id, 'HeldInOrder.work');
    for (const id of ids) expect((await harness.executor.getJournal(id))[0]?.state).toBe('pending');

    bench.gate.resolve();
    for (const id of [hold, ...ids]) expect((await harness.executor.waitFor(id, { timeout: '30s' })).ok).toBe(true);
    expect(bench.order).toEqual(['p9', 'p7', 'p3', 'p0']);
  });

  it('with concurrency 1 and a backlog, an activity with a higher priority option runs before the others', async () => {
    const bench = new HeldInOrder();
    harness = await createHarness(dialect, [bench, new HoldFlow(bench), new JobFlow(bench)], { ...FAST_WORKER, concurrency: 1 });
    const hold = await harness.executor.dispatch(HoldFlow, []);
    await waitUntil(async () => (await harness.executor.getJournal(hold))[0]?.state === 'running', 'the single slot to be taken');

    const jobs: Array<[string, boolean]> = [
      ['w1', false],
      ['u1', true],
      ['w2', false],
      ['u2', true],
    ];
    const ids: string[] = [];
    for (const [label, urgent] of jobs) {
      const id = await harness.executor.dispatch(JobFlow, [label, urgent]);
      await firstStep(id, urgent ? 'HeldInOrder.urgent' : 'HeldInOrder.work');
      ids.push(id);
    }

    bench.gate.resolve();
    for (const id of [hold, ...ids]) expect((await harness.executor.waitFor(id, { timeout: '30s' })).ok).toBe(true);
    expect(bench.order.slice(0, 2).sort()).toEqual(['u1', 'u2']);
    expect(bench.order.slice(2)).toEqual(['w1', 'w2']);
  });

  // ---- registration --------------------------------------------------------------------------------

  it('a worker never runs an activity it has not registered: the step waits for a worker that has it', async () => {
    // A knows the workflow (and other activities) but not Helper.assist
    harness = await createHarness(dialect, [new HelperFlow(new Helper('unregistered')), ...probeInstances()]);
    const id = await harness.executor.dispatch(HelperFlow, ['job-1']);
    await firstStep(id, 'Helper.assist');

    await proveClaiming(harness.executor);
    const [waiting] = await harness.executor.getJournal(id);
    expect(waiting).toMatchObject({ state: 'pending', attempts: 0 });
    expect(waiting?.error).toBeUndefined();
    expect((await harness.executor.listDeadLetters()).total).toBe(0);

    const helperB = new Helper('B');
    await harness.spawn(FAST_WORKER, helperB);
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    expect(result.value).toBe('B assisted job-1 in HelperFlow');
    expect(helperB.calls).toEqual(['job-1']);
    expect((await harness.executor.getJournal(id))[0]).toMatchObject({ state: 'completed', attempts: 1 });
  });

  it('a worker never runs a workflow it has not registered: the execution waits for a worker that has it', async () => {
    // A runs the activity but does not know the workflow
    const helperA = new Helper('A');
    harness = await createHarness(dialect, [helperA, ...probeInstances()]);
    const id = await harness.executor.dispatch(HelperFlow, ['job-2']);

    await proveClaiming(harness.executor);
    expect(await harness.executor.getExecution(id)).toMatchObject({ state: 'pending', startedAt: null, leaseOwner: null });
    expect(await harness.executor.getJournal(id)).toEqual([]);

    // B knows only the workflow: it runs it, and A runs its activity
    await harness.spawn(FAST_WORKER, new HelperFlow(new Helper('unregistered')));
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    expect(result.value).toBe('A assisted job-2 in HelperFlow');
    expect(helperA.calls).toEqual(['job-2']);
  });
});
