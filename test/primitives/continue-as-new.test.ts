import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, defineActivity, defineWorkflow, JournalLimitError, SerializationError, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { errorOf, ExecutorSet, FAST_WORKER, QUICK_WORKER } from '../support/executor-set.js';
import { openInspector } from '../support/inspector.js';

class Counter {
  async add(total: number, i: number): Promise<number> {
    return total + i;
  }
}
defineActivity(Counter, { name: 'Counter' });

/** Sums 0..end-1, one activity per iteration, continuing as new every `every` iterations. */
class LongLoop {
  constructor(private readonly counter: Counter) {}
  async run(from: number, end: number, every: number, total: number): Promise<number> {
    const stop = Math.min(end, from + every);
    for (let i = from; i < stop; i++) total = await this.counter.add(total, i);
    if (stop < end) return Stent.continueAsNew(stop, end, every, total);
    return total;
  }
}
defineWorkflow(LongLoop, { name: 'LongLoop' });

/** A parent whose child continues as new: the parent gets the result of the last of the chain. */
class LoopParent {
  constructor(private readonly loop: LongLoop) {}
  async run(end: number): Promise<string> {
    const total = await this.loop.run(0, end, 3, 0);
    return `total ${total}`;
  }
}
defineWorkflow(LoopParent, { name: 'LoopParent' });

class BadContinuation {
  async run(): Promise<void> {
    await Stent.continueAsNew(() => 1);
  }
}
defineWorkflow(BadContinuation, { name: 'BadContinuation' });

describe.each(DIALECTS)('Stent.continueAsNew and journal limits on %s', (dialect) => {
  let h: ExecutorSet;
  beforeEach(async () => {
    h = await ExecutorSet.create(dialect);
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('10,000 iterations continuing as new every 500 complete, with every journal under 1,000 rows', async () => {
    const counter = new Counter();
    const executor = await h.executor([counter, new LongLoop(counter), new LoopParent(new LongLoop(counter))], { ...QUICK_WORKER, concurrency: 16 });
    const first = await executor.dispatch(LongLoop, [0, 10_000, 500, 0]);
    const result = await executor.waitFor(first, { timeout: '380s' });
    expect(result.value).toBe((10_000 * 9_999) / 2);

    const inspector = await openInspector(h.db);
    try {
      const sizes = await inspector.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${inspector.t.steps} GROUP BY execution_id`);
      expect(sizes).toHaveLength(20);
      expect(Math.max(...sizes.map((row) => Number(row.n)))).toBeLessThan(1_000);
    } finally {
      await inspector.close();
    }
    // The chain is linked both ways, from the first to the last.
    let info = await executor.getExecution(first);
    expect(info.continuedFrom).toBeNull();
    let links = 0;
    while (info.continuedAs) {
      const next = await executor.getExecution(info.continuedAs);
      expect(next.continuedFrom).toBe(info.id);
      expect(info.state).toBe('completed');
      info = next;
      links++;
    }
    expect(links).toBe(19);
    expect(info.result?.value).toBe((10_000 * 9_999) / 2);
    // Without following, the first execution's own Result: completed, no value.
    const own = await executor.waitFor(first, { followContinuations: false });
    expect(own.state).toBe('completed');
    expect(own.value).toBeUndefined();
  }, 400_000);

  it('a child that continues as new answers its parent with the result of the last of its chain', async () => {
    const counter = new Counter();
    const executor = await h.executor([counter, new LongLoop(counter), new LoopParent(new LongLoop(counter))], FAST_WORKER);
    const id = await executor.dispatch(LoopParent, [10]);
    expect((await executor.waitFor(id, { timeout: '60s' })).value).toBe('total 45');
    const children = await executor.listExecutions({ workflowName: 'LongLoop' });
    expect(children.items).toHaveLength(4);
    expect(children.items.every((child) => child.parentId === id && child.state === 'completed')).toBe(true);
  });

  it('arguments that cannot be stored fail the execution that gave them', async () => {
    const executor = await h.executor([new BadContinuation()], FAST_WORKER);
    const result = await executor.waitFor(await executor.dispatch(BadContinuation, []), { timeout: '30s' });
    expect(result.error).toBeInstanceOf(SerializationError);
    expect((await executor.listExecutions({ workflowName: 'BadContinuation' })).items).toHaveLength(1);
  });

  it('journal limits: a warning past warnAt, a JournalLimitError at the limit; continuing as new stays under both', async () => {
    const counter = new Counter();
    const executor = await h.executor([counter, new LongLoop(counter)], { ...FAST_WORKER, journal: { warnAt: 6, limit: 10 } });
    const unbounded = await executor.dispatch(LongLoop, [0, 30, 30, 0]);
    const failed = await executor.waitFor(unbounded, { timeout: '60s' });
    expect(failed.state).toBe('failed');
    expect(failed.error).toBeInstanceOf(JournalLimitError);
    expect(failed.error).toMatchObject({ code: 'STENT_JOURNAL_LIMIT', limit: 10, executionId: unbounded });
    expect((await executor.getJournal(unbounded)).length).toBe(10);
    const warnings = h.logger.lines.filter((line) => line.level === 'warn' && line.message.includes(unbounded) && line.message.includes('6 steps'));
    expect(warnings).toHaveLength(1);

    const chained = await executor.dispatch(LongLoop, [0, 30, 5, 0]);
    expect((await executor.waitFor(chained, { timeout: '60s' })).value).toBe(435);
    expect(await errorOf(() => h.executor([], { ...FAST_WORKER, journal: { warnAt: 20, limit: 10 } }))).toBeInstanceOf(ConfigurationError);
  });
});
