import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, ExecutionNotFinishedError, ExecutionNotFoundError, HistoryPositionError, Stent, type StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { errorOf, ExecutorSet, FAST_WORKER } from '../support/executor-set.js';
import { openInspector } from '../support/inspector.js';
import { waitUntil } from '../support/wait.js';

/** What really ran, and whether step 'd' fails (a bug fixed later). */
class Ran {
  calls: string[] = [];
  breakD = false;
  count(name: string): number {
    return this.calls.filter((call) => call.startsWith(`${name}:`)).length;
  }
}

class Steps {
  constructor(private readonly ran: Ran) {}
  async step(name: string, tag: string): Promise<string> {
    this.ran.calls.push(`${name}:${tag}`);
    if (name === 'd' && this.ran.breakD) throw new Error('d is broken');
    return `${name}(${tag})`;
  }
}
defineActivity(Steps, { name: 'Steps', retry: { maxAttempts: 1 } });

class LabelChild {
  constructor(private readonly steps: Steps) {}
  async run(tag: string): Promise<string> {
    return this.steps.step('child', tag);
  }
}
defineWorkflow(LabelChild, { name: 'LabelChild' });

/** Positions: 0 a, 1 b, 2 the child, 3 d; progress and a counter recorded along the way. */
class HistoryFlow {
  constructor(
    private readonly steps: Steps,
    private readonly child: LabelChild,
  ) {}
  async run(tag: string): Promise<string[]> {
    const a = await this.steps.step('a', tag);
    const b = await this.steps.step('b', tag);
    const c = await this.child.run(tag);
    const d = await this.steps.step('d', tag);
    return [a, b, c, d];
  }
}
defineWorkflow(HistoryFlow, { name: 'HistoryFlow' });

/** a, then a signal wait, then b. */
class GatedFlow {
  constructor(private readonly steps: Steps) {}
  async run(tag: string): Promise<string[]> {
    const a = await this.steps.step('a', tag);
    await Stent.waitForSignal('go');
    return [a, await this.steps.step('b', tag)];
  }
}
defineWorkflow(GatedFlow, { name: 'GatedFlow' });

class WaitingFlow {
  async run(): Promise<void> {
    await Stent.waitForSignal('never');
  }
}
defineWorkflow(WaitingFlow, { name: 'WaitingFlow' });

describe.each(DIALECTS)('fork and rewind on %s', (dialect) => {
  let h: ExecutorSet;
  let executor: StentExecutor;
  let ran: Ran;
  beforeEach(async () => {
    h = await ExecutorSet.create(dialect);
    ran = new Ran();
    const steps = new Steps(ran);
    executor = await h.executor([steps, new LabelChild(steps), new HistoryFlow(steps, new LabelChild(steps)), new WaitingFlow(), new GatedFlow(steps)], FAST_WORKER);
  });
  afterEach(async () => {
    await h.dispose();
  });

  async function children(parentId: string): Promise<string[]> {
    return (await executor.listExecutions({ parentId })).items.map((item) => item.id);
  }

  async function finished(tag: string): Promise<string> {
    const id = await executor.dispatch(HistoryFlow, [tag]);
    await executor.waitFor(id, { timeout: '30s' });
    return id;
  }

  it('fork: steps before the position are not run again, the rest run anew, a child started after it is a new one', async () => {
    const source = await finished('s');
    const [sourceChild] = await children(source);
    expect(ran.calls).toEqual(['a:s', 'b:s', 'child:s', 'd:s']);

    const fork = await executor.fork(source, { fromPosition: 2 });
    expect((await executor.waitFor(fork, { timeout: '30s' })).value).toEqual(['a(s)', 'b(s)', 'child(s)', 'd(s)']);
    expect([ran.count('a'), ran.count('b'), ran.count('child'), ran.count('d')]).toEqual([1, 1, 2, 2]);
    const forkChildren = await children(fork);
    expect(forkChildren).toHaveLength(1);
    expect(forkChildren[0]).not.toBe(sourceChild);
    expect(await children(source)).toEqual([sourceChild]);
    const info = await executor.getExecution(fork);
    expect([info.forkedFrom, info.forkedAt, info.parentId]).toEqual([source, 2, null]);
    expect((await executor.getJournal(fork)).map((step) => step.name)).toEqual(['Steps.step', 'Steps.step', 'LabelChild', 'Steps.step']);
  });

  it('fork after the child reuses it; a fork with new arguments replays the reused steps and runs the rest with them', async () => {
    const source = await finished('s');
    const afterChild = await executor.fork(source, { fromPosition: 3 });
    expect((await executor.waitFor(afterChild, { timeout: '30s' })).value).toEqual(['a(s)', 'b(s)', 'child(s)', 'd(s)']);
    expect(await children(afterChild)).toEqual([]);
    expect([ran.count('child'), ran.count('d')]).toEqual([1, 2]);

    const whatIf = await executor.fork(source, { fromPosition: 1, args: ['w'], executionId: 'what-if-1' });
    expect(whatIf).toBe('what-if-1');
    expect((await executor.waitFor(whatIf, { timeout: '30s' })).value).toEqual(['a(s)', 'b(w)', 'child(w)', 'd(w)']);
    expect(ran.calls.filter((call) => call.endsWith(':w'))).toEqual(['b:w', 'child:w', 'd:w']);
    expect((await executor.getExecution(whatIf)).args).toEqual(['w']);
  });

  it('rewind: a failed execution runs again in place from the position, after the fix, without repeating earlier steps', async () => {
    ran.breakD = true;
    const id = await finished('r');
    expect((await executor.getExecution(id)).state).toBe('failed');
    ran.breakD = false;
    await executor.rewind(id, 3);
    const result = await executor.waitFor(id, { timeout: '30s' });
    expect(result.value).toEqual(['a(r)', 'b(r)', 'child(r)', 'd(r)']);
    expect([ran.count('a'), ran.count('b'), ran.count('child'), ran.count('d')]).toEqual([1, 1, 1, 2]);
    expect((await executor.listDeadLetters({ executionId: id })).items).toEqual([]);
    const info = await executor.getExecution(id);
    expect([info.state, info.forkedFrom, info.forkedAt]).toEqual(['completed', id, 3]);
  });

  it('rewind before a child: the child it started is removed and a new one runs', async () => {
    const id = await finished('c');
    const [oldChild] = await children(id);
    await executor.rewind(id, 2);
    expect((await executor.waitFor(id, { timeout: '30s' })).value).toEqual(['a(c)', 'b(c)', 'child(c)', 'd(c)']);
    const now = await children(id);
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(oldChild);
    expect(await errorOf(() => executor.getExecution(oldChild!))).toBeInstanceOf(ExecutionNotFoundError);
    expect([ran.count('a'), ran.count('b'), ran.count('child'), ran.count('d')]).toEqual([1, 1, 2, 2]);
  });

  it('rewind of a cancelled execution this worker had suspended: a new lease epoch (no resume from memory), and it replays from the cut', async () => {
    const id = await executor.dispatch(GatedFlow, ['k']);
    await waitUntil(async () => (await executor.getExecution(id)).leaseOwner === null && (await executor.getJournal(id)).length === 2, 'the run to suspend at its signal wait');
    // From another process's point of view (its own store: on SQLite no wake event reaches the worker).
    const operator = await h.executor([], false);
    await operator.cancel(id);
    const inspector = await openInspector(h.db);
    const epoch = () => inspector.scalar(`SELECT lease_epoch FROM ${inspector.t.executions} WHERE id = ?`, [id]);
    const before = await epoch();
    // Paused while the epoch is read: the worker would otherwise claim the rewound execution at once, and
    // on a loaded machine its claim can come before the read.
    await operator.pauseWorkflow(GatedFlow);
    await operator.rewind(id, 0);
    // Where the cancel's event never reached it (another machine, a lost notification), the worker keeping
    // the suspended run would claim the next epoch and resume it from memory: the rewind takes that epoch.
    expect(await epoch()).toBe(before + 1);
    await inspector.close();
    await operator.resumeWorkflow(GatedFlow);
    await waitUntil(async () => ran.count('a') === 2, 'step a to run again after the rewind to 0');
    await executor.sendSignal(id, 'go');
    expect((await executor.waitFor(id, { timeout: '30s' })).value).toEqual(['a(k)', 'b(k)']);
    expect((await executor.getJournal(id)).map((step) => step.state)).toEqual(['completed', 'completed', 'completed']);
  });

  it('refuses positions the journal cannot be cut at, rewinds of running executions and unknown ids', async () => {
    const id = await finished('e');
    for (const position of [-1, 1.5, 5]) {
      const error = await errorOf(() => executor.fork(id, { fromPosition: position }));
      expect(error).toBeInstanceOf(HistoryPositionError);
      expect(error).toMatchObject({ code: 'STENT_HISTORY_POSITION', category: 'bad_input' });
    }
    expect(await errorOf(() => executor.rewind(id, 9))).toBeInstanceOf(HistoryPositionError);
    expect(await errorOf(() => executor.fork('no-such-execution', { fromPosition: 0 }))).toBeInstanceOf(ExecutionNotFoundError);

    const waiting = await executor.dispatch(WaitingFlow, []);
    await waitUntil(async () => (await executor.getJournal(waiting)).length === 1, 'the execution waits for its signal');
    expect(await errorOf(() => executor.rewind(waiting, 0))).toBeInstanceOf(ExecutionNotFinishedError);
    // A fork can start before a step that has not settled, not after it.
    expect(await errorOf(() => executor.fork(waiting, { fromPosition: 1 }))).toBeInstanceOf(HistoryPositionError);
    const fresh = await executor.fork(waiting, { fromPosition: 0 });
    await waitUntil(async () => (await executor.getJournal(fresh)).length === 1, 'the fork waits for its own signal');
  });
});
