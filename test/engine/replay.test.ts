import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, NonDeterminismError, Stent, type StentExecutor } from 'nestjs-stent';
import { BACKENDS } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { Gate, ExecutorSet } from '../support/executor-set.js';

/** Counters that outlive one executor: what really ran, across "processes". */
class RunCounters {
  first = 0;
  second = 0;
  echoes: string[] = [];
}

// ---- two sequential steps; the second can be held open ----------------------------------------

class ReplayActs {
  constructor(
    private readonly probe: RunCounters,
    private readonly secondGate: Gate | null,
  ) {}
  async first(x: number): Promise<number> {
    this.probe.first++;
    return x * 2;
  }
  async second(y: number): Promise<number> {
    this.probe.second++;
    if (this.secondGate) await this.secondGate.wait();
    return y + 1;
  }
}
defineActivity(ReplayActs, { name: 'ReplayActs', retry: { maxAttempts: 3, initialDelay: '20ms' } });

class ReplayFlow {
  constructor(private readonly acts: ReplayActs) {}
  async run(x: number): Promise<{ a: number; b: number }> {
    const a = await this.acts.first(x);
    const b = await this.acts.second(a);
    return { a, b };
  }
}
defineWorkflow(ReplayFlow, { name: 'ReplayFlow' });

/** A later deploy of the same durable workflow that calls the steps in the other order. */
class ReorderedActs {
  constructor(private readonly probe: RunCounters) {}
  async first(x: number): Promise<number> {
    this.probe.first++;
    return x * 2;
  }
  async second(y: number): Promise<number> {
    this.probe.second++;
    return y + 1;
  }
}
defineActivity(ReorderedActs, { name: 'ReplayActs', retry: { maxAttempts: 3, initialDelay: '20ms' } });

class ReorderedFlow {
  constructor(private readonly acts: ReorderedActs) {}
  async run(x: number): Promise<{ a: number; b: number }> {
    const b = await this.acts.second(x);
    const a = await this.acts.first(b);
    return { a, b };
  }
}
defineWorkflow(ReorderedFlow, { name: 'ReplayFlow' });

// ---- fan-out with completion order under the test's control -----------------------------------

class FanActs {
  constructor(
    private readonly probe: RunCounters,
    private readonly gates: Record<string, Gate> | null,
    private readonly holdGate: Gate<string> | null,
  ) {}
  async echo(tag: string): Promise<string> {
    this.probe.echoes.push(tag);
    if (this.gates?.[tag]) await this.gates[tag]!.wait();
    return tag.toUpperCase();
  }
  async hold(): Promise<string> {
    return this.holdGate ? this.holdGate.wait() : 'held';
  }
}
defineActivity(FanActs, { retry: { maxAttempts: 3, initialDelay: '20ms' } });

class FanFlow {
  constructor(private readonly acts: FanActs) {}
  async run(tags: string[]): Promise<{ results: string[]; held: string }> {
    const results = await Promise.all(tags.map((tag) => this.acts.echo(tag)));
    const held = await this.acts.hold();
    return { results, held };
  }
}
defineWorkflow(FanFlow);

// ---- recorded non-deterministic values --------------------------------------------------------

interface Recorded {
  now: Date;
  uuid: string;
  random: number;
}

class ValueFlow {
  constructor(
    private readonly acts: FanActs,
    private readonly seen: Recorded[],
  ) {}
  async run(): Promise<Recorded> {
    const values = { now: Stent.now(), uuid: Stent.uuid(), random: Stent.random() };
    this.seen.push(values);
    await this.acts.hold();
    return values;
  }
}
defineWorkflow(ValueFlow);

// ---- tests ------------------------------------------------------------------------------------

describe.each(BACKENDS)('journal and replay on %s', (backend) => {
  let h: ExecutorSet;

  beforeEach(async () => {
    h = await ExecutorSet.create(backend);
  });

  afterEach(async () => {
    await h.dispose();
  });

  /** Executor A: runs ReplayFlow until its second step is in flight, then its worker stops. */
  async function runUntilSecondStepThenStop(probe: RunCounters): Promise<{ exA: StentExecutor; id: string }> {
    const gate = new Gate();
    h.onCleanup(() => gate.open());
    const actsA = new ReplayActs(probe, gate);
    const exA = await h.executor([actsA, new ReplayFlow(actsA)]);
    const id = await exA.dispatch(ReplayFlow, [5]);
    await waitUntil(() => gate.entered === 1, 'the second step to start on executor A');
    const journal = await exA.getJournal(id);
    expect(journal.map((s) => [s.position, s.name, s.state])).toEqual([
      [0, 'ReplayActs.first', 'completed'],
      [1, 'ReplayActs.second', 'running'],
    ]);
    await exA.worker!.stop();
    return { exA, id };
  }

  it('another executor replays the execution: completed steps come from the journal, the rest runs', async () => {
    const probe = new RunCounters();
    const { id } = await runUntilSecondStepThenStop(probe);
    expect(probe.first).toBe(1);

    const actsB = new ReplayActs(probe, null);
    const exB = await h.executor([actsB, new ReplayFlow(actsB)], undefined, false);
    const starts: boolean[] = [];
    exB.events.on('execution.started', (event) => {
      if (event.executionId === id) starts.push(event.replay);
    });
    await exB.start();

    const result = await exB.waitFor(id, { timeout: '30s' });
    expect(result.state).toBe('completed');
    expect(result.value).toEqual({ a: 10, b: 11 });
    expect(probe.first).toBe(1);
    expect(probe.second).toBe(2);
    expect(starts[0]).toBe(true);

    const journal = await exB.getJournal(id);
    expect(journal).toHaveLength(2);
    expect(journal[0]).toMatchObject({ position: 0, name: 'ReplayActs.first', state: 'completed', result: 10, attempts: 1 });
    expect(journal[1]).toMatchObject({ position: 1, name: 'ReplayActs.second', state: 'completed', result: 11 });
  });

  it('a replay that calls a different step fails the execution with NonDeterminismError naming both', async () => {
    const probe = new RunCounters();
    const { id } = await runUntilSecondStepThenStop(probe);

    const actsB = new ReorderedActs(probe);
    const exB = await h.executor([actsB, new ReorderedFlow(actsB)]);
    const result = await exB.waitFor(id, { timeout: '30s' });
    expect(result.state).toBe('failed');
    const error = result.error as NonDeterminismError;
    expect(error).toBeInstanceOf(NonDeterminismError);
    expect(error.message).toContain('ReplayActs.first');
    expect(error.message).toContain('ReplayActs.second');
    expect(error.position).toBe(0);
    expect(probe.first).toBe(1);
    expect((await exB.getExecution(id)).state).toBe('failed');
    const letters = await exB.listDeadLetters();
    expect(letters.items.some((l) => l.executionId === id)).toBe(true);
  });

  it('Promise.all takes journal positions in call order, whatever the completion order, and replays them', async () => {
    const probe = new RunCounters();
    const gates = { a: new Gate(), b: new Gate(), c: new Gate() };
    const holdGate = new Gate<string>();
    h.onCleanup(() => {
      for (const gate of Object.values(gates)) gate.open();
      holdGate.open('cleanup');
    });
    const actsA = new FanActs(probe, gates, holdGate);
    const exA = await h.executor([actsA, new FanFlow(actsA)]);
    const id = await exA.dispatch(FanFlow, [['a', 'b', 'c']]);
    await waitUntil(() => Object.values(gates).every((g) => g.entered === 1), 'all three echoes to start');

    const completedAt = async (position: number) => (await exA.getJournal(id)).find((s) => s.position === position)?.state === 'completed';
    gates.c.open();
    await waitUntil(() => completedAt(2), 'echo c to be recorded');
    gates.b.open();
    await waitUntil(() => completedAt(1), 'echo b to be recorded');
    gates.a.open();
    await waitUntil(() => holdGate.entered === 1, 'the step after Promise.all to start');

    const journal = await exA.getJournal(id);
    expect(journal.slice(0, 3).map((s) => [s.position, s.name, s.args, s.result])).toEqual([
      [0, 'FanActs.echo', ['a'], 'A'],
      [1, 'FanActs.echo', ['b'], 'B'],
      [2, 'FanActs.echo', ['c'], 'C'],
    ]);
    expect(journal[2]!.finishedAt!.getTime()).toBeLessThanOrEqual(journal[1]!.finishedAt!.getTime());
    expect(journal[1]!.finishedAt!.getTime()).toBeLessThanOrEqual(journal[0]!.finishedAt!.getTime());
    expect(journal[3]).toMatchObject({ position: 3, name: 'FanActs.hold' });

    await exA.worker!.stop();
    const actsB = new FanActs(probe, null, null);
    const exB = await h.executor([actsB, new FanFlow(actsB)]);
    const result = await exB.waitFor(id, { timeout: '30s' });
    expect(result.value).toEqual({ results: ['A', 'B', 'C'], held: 'held' });
    expect(probe.echoes.sort()).toEqual(['a', 'b', 'c']);
  });

  it('Stent.now, uuid and random return the recorded values on replay', async () => {
    const probe = new RunCounters();
    const holdGate = new Gate<string>();
    h.onCleanup(() => holdGate.open('cleanup'));
    const seen: Recorded[] = [];
    const actsA = new FanActs(probe, null, holdGate);
    const exA = await h.executor([actsA, new ValueFlow(actsA, seen)]);
    const before = Date.now();
    const id = await exA.dispatch(ValueFlow, []);
    await waitUntil(() => holdGate.entered === 1, 'the workflow to reach its held step');
    expect(seen).toHaveLength(1);
    await exA.worker!.stop();

    const actsB = new FanActs(probe, null, null);
    const exB = await h.executor([actsB, new ValueFlow(actsB, seen)]);
    const result = await exB.waitFor<Recorded>(id, { timeout: '30s' });
    expect(result.ok).toBe(true);
    expect(seen).toHaveLength(2);
    const [original, replayed] = seen as [Recorded, Recorded];
    expect(replayed.now).toBeInstanceOf(Date);
    expect(replayed.now.getTime()).toBe(original.now.getTime());
    expect(replayed.uuid).toBe(original.uuid);
    expect(replayed.random).toBe(original.random);
    expect(original.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(original.now.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(original.random).toBeGreaterThanOrEqual(0);
    expect(original.random).toBeLessThan(1);
    const value = result.value!;
    expect(new Date(value.now).getTime()).toBe(original.now.getTime());
    expect(value.uuid).toBe(original.uuid);
    expect(value.random).toBe(original.random);
  });
});
