import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  createStentStore,
  defineActivity,
  defineWorkflow,
  ManualClock,
  Stent,
  StentExecutor,
  type StentEventMap,
  type WorkerOptions,
} from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { countEvents, nudgeUntil } from '../support/manual-time.js';
import { waitUntil } from '../support/wait.js';

/**
 * A worker keeps the runs it suspends (worker.keepSuspended) and, when it claims one again and nobody else
 * ran it in between, resumes it where it stopped: the workflow's code is not replayed and the wake reads
 * only the rows of what the run waits on, so a wake costs the same however long the journal has grown.
 */

/** How many times a workflow body started (a replay starts it again), per workflow. */
const bodyStarts = { signalLoop: 0, sleeper: 0 };

class ResumeActs {
  readonly calls: string[] = [];
  async add(total: number, by: number): Promise<number> {
    this.calls.push(`add ${total}+${by}`);
    return total + by;
  }
  async step(label: string): Promise<string> {
    this.calls.push(label);
    return label.toUpperCase();
  }
}
defineActivity(ResumeActs, { name: 'ResumeActs' });

/** Waits for `n` signals, an activity after each. */
class SignalLoop {
  constructor(private readonly acts: ResumeActs) {}
  async run(n: number): Promise<number> {
    bodyStarts.signalLoop++;
    let total = 0;
    for (let i = 0; i < n; i++) total = await this.acts.add(total, await Stent.waitForSignal<number>('next'));
    return total;
  }
}
defineWorkflow(SignalLoop, { name: 'SignalLoop' });

/** Two one-hour sleeps between three activities. */
class TwoSleeps {
  constructor(private readonly acts: ResumeActs) {}
  async run(): Promise<string> {
    bodyStarts.sleeper++;
    const a = await this.acts.step('a');
    await Stent.sleep('1h');
    const b = await this.acts.step('b');
    await Stent.sleep('1h');
    const c = await this.acts.step('c');
    return `${a}${b}${c}`;
  }
}
defineWorkflow(TwoSleeps, { name: 'TwoSleeps' });

/** The store's reads of journal rows, counted per call (the real store, observed). */
interface Reads {
  wholeJournals: string[];
  stepReads: Array<{ executionId: string; positions: number[] }>;
}

type Started = StentEventMap['execution.started'][0];

describe.each(DIALECTS)('suspended runs resume from memory on %s', (dialect) => {
  let set: ExecutorSet;
  afterEach(async () => set?.dispose());

  /** An executor on the test's database whose store reads are recorded. */
  async function observedExecutor(
    instances: object[],
    worker: WorkerOptions,
    clock?: ManualClock,
  ): Promise<{ executor: StentExecutor; reads: Reads; started: Started[]; suspended: (executionId: string) => number }> {
    const store = await createStentStore({ database: set.db.options });
    const reads: Reads = { wholeJournals: [], stepReads: [] };
    const observed = new Proxy(store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property === 'loadJournal') {
          return (executionId: string) => {
            reads.wholeJournals.push(executionId);
            return target.loadJournal(executionId);
          };
        }
        if (property === 'loadSteps') {
          return (executionId: string, positions: number[]) => {
            reads.stepReads.push({ executionId, positions: [...positions] });
            return target.loadSteps(executionId, positions);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const executor = new StentExecutor({ store: observed, worker, logger: set.logger, clock });
    executor.register(...instances);
    set.onCleanup(() => executor.close('2s').catch(() => undefined));
    const started: Started[] = [];
    executor.events.on('execution.started', (event) => started.push(event));
    // Counted from before the start: a worker started beside work already due may claim, run and suspend it
    // before start() resolves (its first claim round runs while start() still reads the pauses).
    const suspensions: string[] = [];
    executor.events.on('execution.suspended', (event) => suspensions.push(event.executionId));
    await executor.start();
    return { executor, reads, started, suspended: (executionId) => suspensions.filter((suspendedId) => suspendedId === executionId).length };
  }

  it('each wake of a run this worker suspended goes on in memory and reads only the rows it waits on', async () => {
    set = await ExecutorSet.create(dialect);
    const acts = new ResumeActs();
    const { executor, reads, started } = await observedExecutor([acts, new SignalLoop(acts)], { ...QUICK_WORKER, suspendAfter: '20ms' });
    bodyStarts.signalLoop = 0;
    const id = 'signal-loop-1';
    const suspended = countEvents(executor, 'execution.suspended', id);
    await executor.dispatch(SignalLoop, [6], { executionId: id });
    for (let i = 1; i <= 6; i++) {
      await waitUntil(() => suspended.count === i, `suspension ${i}`);
      await executor.sendSignal(id, 'next', i);
    }
    const outcome = await executor.waitFor<number>(id, { timeout: '20s' });
    expect(outcome.ok && outcome.value).toBe(21);

    // The body ran once: six wakes, no replay.
    expect(bodyStarts.signalLoop).toBe(1);
    const mine = started.filter((event) => event.executionId === id);
    expect(mine).toHaveLength(7);
    expect(mine.slice(1).every((event) => event.resumed === true && event.replay === false)).toBe(true);
    // No wake read the journal; each read the signal step it waited on and the next free position.
    expect(reads.wholeJournals.filter((executionId) => executionId === id)).toEqual([]);
    const wakeReads = reads.stepReads.filter((read) => read.executionId === id);
    expect(wakeReads).toHaveLength(6);
    wakeReads.forEach((read, i) => expect(read.positions).toEqual([2 * i, 2 * i + 1]));
    expect(acts.calls).toEqual(['add 0+1', 'add 1+2', 'add 3+3', 'add 6+4', 'add 10+5', 'add 15+6']);
    const journal = await executor.getJournal(id);
    expect(journal.map((step) => `${step.position}:${step.kind}:${step.state}`)).toEqual(
      Array.from({ length: 12 }, (_, i) => `${i}:${i % 2 === 0 ? 'signal' : 'activity'}:completed`),
    );
  });

  it('with keepSuspended: 0 every wake replays the journal', async () => {
    set = await ExecutorSet.create(dialect);
    const acts = new ResumeActs();
    const { executor, reads, started } = await observedExecutor([acts, new SignalLoop(acts)], { ...QUICK_WORKER, suspendAfter: '20ms', keepSuspended: 0 });
    bodyStarts.signalLoop = 0;
    const id = 'signal-loop-0';
    const suspended = countEvents(executor, 'execution.suspended', id);
    await executor.dispatch(SignalLoop, [3], { executionId: id });
    for (let i = 1; i <= 3; i++) {
      await waitUntil(() => suspended.count === i, `suspension ${i}`);
      await executor.sendSignal(id, 'next', i);
    }
    const outcome = await executor.waitFor<number>(id, { timeout: '20s' });
    expect(outcome.ok && outcome.value).toBe(6);
    expect(bodyStarts.signalLoop).toBe(4);
    expect(started.filter((event) => event.executionId === id).slice(1).every((event) => event.replay && !event.resumed)).toBe(true);
    expect(reads.wholeJournals.filter((executionId) => executionId === id)).toHaveLength(3);
  });

  it('a run another worker ran in the meantime is replayed from the journal, not resumed', async () => {
    set = await ExecutorSet.create(dialect);
    // Leases outlast the clock jumps; a waiting run is suspended at once.
    const worker: WorkerOptions = { concurrency: 4, pollInterval: '100ms', maxPollInterval: '1s', lease: '1d', suspendAfter: 0 };
    const start = Date.UTC(2030, 0, 1);
    const clockA = new ManualClock(start);
    const actsA = new ResumeActs();
    const a = await observedExecutor([actsA, new TwoSleeps(actsA)], worker, clockA);
    bodyStarts.sleeper = 0;
    const id = 'two-sleeps';
    const suspendedOnA = countEvents(a.executor, 'execution.suspended', id);
    await a.executor.dispatch(TwoSleeps, [], { executionId: id });
    await nudgeUntil(clockA, () => suspendedOnA.count === 1, 'worker A to suspend the run at its first sleep', 100);
    expect(actsA.calls).toEqual(['a']);

    // Worker B, whose clock is 90 minutes on, wakes the run at its first sleep and takes it to the second.
    const clockB = new ManualClock(clockA.now() + 90 * 60_000);
    const actsB = new ResumeActs();
    const b = await observedExecutor([actsB, new TwoSleeps(actsB)], worker, clockB);
    await nudgeUntil(clockB, () => b.suspended(id) === 1, 'worker B to suspend the run at its second sleep', 100);
    expect(actsB.calls).toEqual(['b']);
    await b.executor.close('2s');

    // Worker A still keeps the run it suspended at the first sleep; it must not resume it from there.
    clockA.advanceTo(start + 3 * 3_600_000);
    await nudgeUntil(clockA, async () => (await a.executor.getExecution(id)).state === 'completed', 'worker A to finish the run', 100);
    const outcome = await a.executor.waitFor<string>(id, { timeout: '10s' });
    expect(outcome.ok && outcome.value).toBe('ABC');
    expect(actsA.calls).toEqual(['a', 'c']);
    const onA = a.started.filter((event) => event.executionId === id);
    expect(onA).toHaveLength(2);
    expect(onA[1]).toMatchObject({ replay: true });
    expect(onA[1]!.resumed).toBeUndefined();
    expect(a.reads.wholeJournals).toContain(id);
    // Nothing failed or was dropped on the way (a stale resume would fail its first write).
    expect(set.logger.lines.filter((line) => line.level === 'error' || line.message.includes('dropped'))).toEqual([]);
  });

  it('a run this worker kept resumes at a sleep: its timer starts again and fires once due', async () => {
    set = await ExecutorSet.create(dialect);
    const worker: WorkerOptions = { concurrency: 4, pollInterval: '100ms', maxPollInterval: '1s', lease: '1d', suspendAfter: 0 };
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const acts = new ResumeActs();
    const { executor, started, reads } = await observedExecutor([acts, new TwoSleeps(acts)], worker, clock);
    bodyStarts.sleeper = 0;
    const id = 'two-sleeps-kept';
    const suspended = countEvents(executor, 'execution.suspended', id);
    await executor.dispatch(TwoSleeps, [], { executionId: id });
    await nudgeUntil(clock, () => suspended.count === 1, 'the first sleep', 100);
    clock.advance('1h');
    await nudgeUntil(clock, () => suspended.count === 2, 'the second sleep', 100);
    clock.advance('1h');
    await nudgeUntil(clock, async () => (await executor.getExecution(id)).state === 'completed', 'the run to finish', 100);
    expect((await executor.waitFor<string>(id)).ok).toBe(true);
    expect(bodyStarts.sleeper).toBe(1);
    expect(acts.calls).toEqual(['a', 'b', 'c']);
    expect(started.filter((event) => event.executionId === id).map((event) => event.resumed ?? false)).toEqual([false, true, true]);
    expect(reads.wholeJournals.filter((executionId) => executionId === id)).toEqual([]);
  });
});

describe('worker.keepSuspended', () => {
  it('refuses a negative or fractional size with a ConfigurationError', async () => {
    const set = await ExecutorSet.create('sqlite');
    try {
      for (const keepSuspended of [-1, 1.5]) {
        await expect(set.executor([], { keepSuspended })).rejects.toBeInstanceOf(ConfigurationError);
      }
    } finally {
      await set.dispose();
    }
  });
});
