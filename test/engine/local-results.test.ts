import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, ManualClock, type StentExecutor } from 'nestjs-stent';
import { DIALECTS, listenToWakeEvents } from '../support/databases.js';
import { ExecutorSet, Gate, QUICK_WORKER } from '../support/executor-set.js';
import { resultsOnStandingClock } from '../support/manual-time.js';
import { waitUntil } from '../support/wait.js';
import { installSqlCounter, sqlCounts, sqlCountsSince } from '../../bench/sql-counter.js';

// A workflow gets the result of an activity run by its own worker at once; the result is written with the
// workflow's next journal write, or on its own when the workflow makes none.

class SlowAndFastActs {
  constructor(readonly gate: Gate) {}
  async slow(): Promise<string> {
    await this.gate.wait();
    return 'slow';
  }
  async fast(n: number): Promise<number> {
    return n + 1;
  }
}
defineActivity(SlowAndFastActs);

/** After `fast` it only awaits `slow`, which was already recorded: no new journal write follows. */
class WaitsOnEarlierCall {
  constructor(private readonly pair: SlowAndFastActs) {}
  async run(): Promise<string> {
    const slow = this.pair.slow();
    const fast = await this.pair.fast(1);
    return `${fast}/${await slow}`;
  }
}
defineWorkflow(WaitsOnEarlierCall);

/** Each result feeds the next call: each is written together with the next step. */
class ChainedCalls {
  constructor(private readonly pair: SlowAndFastActs) {}
  async run(length: number): Promise<number> {
    let n = 0;
    for (let i = 0; i < length; i++) n = await this.pair.fast(n);
    return n;
  }
}
defineWorkflow(ChainedCalls);

/** `n` calls at once: their results come back in batches and are written on their own (no insert follows). */
class FannedCalls {
  constructor(private readonly pair: SlowAndFastActs) {}
  async run(n: number): Promise<number> {
    const results = await Promise.all(Array.from({ length: n }, (_, i) => this.pair.fast(i)));
    return results.reduce((sum, value) => sum + value, 0);
  }
}
defineWorkflow(FannedCalls);

/**
 * The tests that count statements run on a clock that stands still: the worker's polls, change probes and
 * lease renewals are timers on that clock and never fire, so what is counted is what the runs sent, however
 * long a loaded machine takes over them. A run started here needs no timer: it is taken by this process's
 * worker at dispatch and its outcome wakes its waitFor in the process.
 */
async function resultOf(executor: StentExecutor, id: string): Promise<unknown> {
  const [outcome] = await resultsOnStandingClock(executor, [id], 'at dispatch, by this process');
  return outcome!.value;
}

describe.each(DIALECTS)('results used by a workflow in the same worker, on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('are recorded even when the workflow makes no further journal write', async () => {
    set = await ExecutorSet.create(dialect);
    const gate = new Gate();
    set.onCleanup(() => gate.open());
    const pair = new SlowAndFastActs(gate);
    const executor = await set.executor([pair, new WaitsOnEarlierCall(pair), new ChainedCalls(pair)]);
    const id = await executor.dispatch(WaitsOnEarlierCall, []);
    // `slow` is still running, so the workflow is waiting: the `fast` result must be in the journal by now.
    const journal = await waitUntil(async () => {
      const steps = await executor.getJournal(id);
      return steps.find((s) => s.name === 'SlowAndFastActs.fast')?.state === 'completed' ? steps : undefined;
    }, 'the fast result to be recorded');
    expect(journal.map((s) => [s.name, s.state])).toEqual([
      ['SlowAndFastActs.slow', 'running'],
      ['SlowAndFastActs.fast', 'completed'],
    ]);
    expect(journal[1]!.result).toBe(2);
    gate.open();
    expect((await executor.waitFor(id, { timeout: '20s' })).value).toBe('2/slow');
  });

  it('a chain of steps records every result exactly once, one attempt each', async () => {
    set = await ExecutorSet.create(dialect);
    const gate = new Gate();
    const pair = new SlowAndFastActs(gate);
    const executor = await set.executor([pair, new WaitsOnEarlierCall(pair), new ChainedCalls(pair)]);
    const id = await executor.dispatch(ChainedCalls, [25]);
    expect((await executor.waitFor(id, { timeout: '20s' })).value).toBe(25);
    const journal = await executor.getJournal(id);
    expect(journal.map((s) => [s.position, s.state, s.result, s.attempts])).toEqual(Array.from({ length: 25 }, (_, i) => [i, 'completed', i + 1, 1]));
  });

  it('a chain of steps commits once per step: each result goes with the next step, not in a transaction of its own', async () => {
    installSqlCounter();
    set = await ExecutorSet.create(dialect);
    const pair = new SlowAndFastActs(new Gate());
    const executor = await set.executor([pair, new WaitsOnEarlierCall(pair), new ChainedCalls(pair)], QUICK_WORKER, true, new ManualClock(Date.now()));
    expect(await resultOf(executor, await executor.dispatch(ChainedCalls, [5]))).toBe(5);
    const before = sqlCounts();
    const steps = 60;
    expect(await resultOf(executor, await executor.dispatch(ChainedCalls, [steps]))).toBe(steps);
    // One commit a step, the dispatch and the ending. A result written on its own would double the count.
    expect(sqlCountsSince(before).commits).toBeLessThanOrEqual(steps + 2);
  });

  it("a fan-out's results written together wake their execution once, not once a result", async () => {
    installSqlCounter();
    set = await ExecutorSet.create(dialect);
    const pair = new SlowAndFastActs(new Gate());
    const executor = await set.executor([pair, new WaitsOnEarlierCall(pair), new ChainedCalls(pair), new FannedCalls(pair)], QUICK_WORKER, true, new ManualClock(Date.now()));
    const calls = 400;
    const sum = (calls * (calls + 1)) / 2;
    expect(await resultOf(executor, await executor.dispatch(FannedCalls, [calls]))).toBe(sum);
    const before = sqlCounts();
    expect(await resultOf(executor, await executor.dispatch(FannedCalls, [calls]))).toBe(sum);
    // SQLite records each result with a statement of its own (PostgreSQL a batch in one): about 1.4 statements
    // a call in all here, 2.29 while each result woke the execution as well.
    expect(sqlCountsSince(before).statements / calls).toBeLessThan(dialect === 'sqlite' ? 1.7 : 0.4);
  });

  it('a one-step workflow with nothing left behind ends with its last result in one short write', async () => {
    installSqlCounter();
    set = await ExecutorSet.create(dialect);
    const pair = new SlowAndFastActs(new Gate());
    const executor = await set.executor([pair, new WaitsOnEarlierCall(pair), new ChainedCalls(pair)], QUICK_WORKER, true, new ManualClock(Date.now()));
    expect(await resultOf(executor, await executor.dispatch(ChainedCalls, [1]))).toBe(1);
    const before = sqlCounts();
    const runs = 20;
    for (let i = 0; i < runs; i++) expect(await resultOf(executor, await executor.dispatch(ChainedCalls, [1]))).toBe(1);
    const { statements, commits } = sqlCountsSince(before);
    // The dispatch carrying the step, and the end carrying the result: two commits. SQLite's end is BEGIN,
    // the result, the execution's row, COMMIT (no search for leftovers or a parent); PostgreSQL sends one
    // statement for each write, the NOTIFY riding with the last.
    expect(commits / runs).toBeLessThan(2.5);
    expect(statements / runs).toBeLessThan(dialect === 'sqlite' ? 10.5 : 2.5);
  });
});

describe('the end of an execution on postgres', () => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it("is announced to other processes by the statement that ends it: 'finished' arrives, no NOTIFY of its own", async () => {
    set = await ExecutorSet.create('postgres');
    const pair = new SlowAndFastActs(new Gate());
    const executor = await set.executor([pair, new WaitsOnEarlierCall(pair), new ChainedCalls(pair)]);
    // Another process's view: a connection listening on the schema's channel.
    const { heard, end } = await listenToWakeEvents(set.db.schema!);
    set.onCleanup(end);

    // What was sent: the statement's text and its values.
    const sent: Array<{ text: string; values: string }> = [];
    const original = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const config = args[0] as string | { text?: string };
      const text = typeof config === 'string' ? config : String(config?.text);
      sent.push({ text, values: JSON.stringify(typeof config === 'string' ? args[1] : (config as { values?: unknown }).values) });
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    let id: string;
    try {
      id = await executor.dispatch(ChainedCalls, [2]);
      expect((await executor.waitFor(id, { timeout: '20s' })).value).toBe(2);
      await waitUntil(() => heard.some((event) => event.type === 'finished' && event.executionId === id), "the 'finished' notification");
    } finally {
      pg.Client.prototype.query = original;
    }
    // A 'work' NOTIFY may go out on its own (the dispatch, when the worker was still looking for work).
    const own = sent.filter(({ text }) => /^\s*SELECT pg_notify/i.test(text));
    expect(own.filter(({ values }) => values.includes('finished'))).toEqual([]);
    // Every shared statement can carry a NOTIFY (its text is one for all batches): the last one naming the
    // execution is the one that ended it.
    const carried = sent.filter(({ text, values }) => /pg_notify/.test(text) && !/^\s*SELECT pg_notify/i.test(text) && values.includes(id!));
    expect(carried.length).toBeGreaterThanOrEqual(1);
    expect(carried.at(-1)!.text).toMatch(/UPDATE .*stent_executions/s);
  });
});
