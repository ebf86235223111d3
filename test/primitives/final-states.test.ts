import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent, WorkflowCancelledError } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

const seen: string[] = [];

class ChildWaits {
  async run(): Promise<unknown> {
    return Stent.waitForSignal('child-go');
  }
}
defineWorkflow(ChildWaits, { name: 'ChildWaits' });

class ChildSleeps {
  async run(): Promise<string> {
    await Stent.sleep('1200ms');
    return 'slept';
  }
}
defineWorkflow(ChildSleeps, { name: 'ChildSleeps' });

/** Times out (maxDuration) while its child waits for a signal. */
class ParentTimesOut {
  constructor(private readonly child: ChildWaits) {}
  async run(): Promise<unknown> {
    return this.child.run();
  }
}
defineWorkflow(ParentTimesOut, { name: 'ParentTimesOut', maxDuration: '700ms' });

class ParentCatches {
  constructor(private readonly child: ChildWaits) {}
  async run(): Promise<string> {
    try {
      const value = await this.child.run();
      return `value:${JSON.stringify(value)}`;
    } catch (error) {
      return `caught:${(error as Error).name}:${error instanceof WorkflowCancelledError}`;
    }
  }
}
defineWorkflow(ParentCatches, { name: 'ParentCatches' });

class ParentOfSleeper {
  constructor(private readonly child: ChildSleeps) {}
  async run(): Promise<string> {
    return `parent got ${await this.child.run()}`;
  }
}
defineWorkflow(ParentOfSleeper, { name: 'ParentOfSleeper' });

class Capped {
  async work(n: number): Promise<number> {
    seen.push(`work:${n}`);
    return n;
  }
}
defineActivity(Capped, { name: 'Capped', maxConcurrent: 1 });

/** Starts an activity and returns without awaiting it. */
class FireAndForget {
  constructor(private readonly capped: Capped) {}
  async run(): Promise<string> {
    void this.capped.work(1);
    return 'returned early';
  }
}
defineWorkflow(FireAndForget, { name: 'FireAndForget' });

describe.each(DIALECTS)('what an ending execution leaves behind, on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    seen.length = 0;
    await harness?.dispose();
  });

  function instances() {
    const waits = new ChildWaits();
    const sleeps = new ChildSleeps();
    const capped = new Capped();
    return [waits, sleeps, capped, new ParentTimesOut(waits), new ParentCatches(waits), new ParentOfSleeper(sleeps), new FireAndForget(capped)];
  }

  it('a parent that times out (maxDuration) does not leave its child running', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(ParentTimesOut, []);
    const result = await harness.executor.waitFor(id, { timeout: '10s' });
    expect(result.state).toBe('timed_out');
    const [child] = (await harness.executor.listExecutions({ parentId: id })).items;
    expect(child).toBeDefined();
    // Cancelled in the same transaction that ended the parent.
    const ended = await harness.executor.getExecution(child!.id);
    expect(ended.state).toBe('cancelled');
    expect(ended.result?.error).toBeInstanceOf(WorkflowCancelledError);
    expect((await harness.executor.getJournal(child!.id)).map((s) => s.state)).toEqual(['cancelled']);
  });

  it('cancelling a child surfaces in the parent as a catchable WorkflowCancelledError', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(ParentCatches, []);
    await waitUntil(async () => (await harness.executor.listExecutions({ parentId: id })).total === 1, 'the child to exist');
    const [child] = (await harness.executor.listExecutions({ parentId: id })).items;
    await waitUntil(async () => (await harness.executor.getJournal(child!.id)).length === 1, 'the child to wait');
    await harness.executor.cancel(child!.id);
    const result = await harness.executor.waitFor(id, { timeout: '10s' });
    expect(result.value).toBe('caught:WorkflowCancelledError:true');
  });

  it('a signal sent to a child execution reaches it and its value reaches the parent', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(ParentCatches, []);
    await waitUntil(async () => (await harness.executor.listExecutions({ parentId: id })).total === 1, 'the child to exist');
    const [child] = (await harness.executor.listExecutions({ parentId: id })).items;
    await harness.executor.sendSignal(child!.id, 'child-go', { ok: 1 });
    const result = await harness.executor.waitFor(id, { timeout: '10s' });
    expect(result.value).toBe('value:{"ok":1}');
  });

  it('a parent suspended while its child sleeps is woken when the child ends', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(ParentOfSleeper, []);
    await waitUntil(async () => (await harness.executor.getExecution(id)).leaseOwner === null && (await harness.executor.getJournal(id)).length === 1, 'the parent to be suspended');
    const result = await harness.executor.waitFor(id, { timeout: '10s' });
    expect(result.value).toBe('parent got slept');
  });

  it('a workflow that returns before awaiting a started activity leaves no step pending forever', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(FireAndForget, []);
    const result = await harness.executor.waitFor(id, { timeout: '10s' });
    expect(result.value).toBe('returned early');
    // Either a worker took it before the execution completed (its body then finishes and records the
    // outcome, possibly just after the execution ended), or it was cancelled in the same transaction that
    // completed the execution (and then no worker ever takes it).
    const step = await waitUntil(async () => {
      const [entry] = await harness.executor.getJournal(id);
      return entry && entry.state !== 'running' ? entry : undefined;
    }, 'the started step to complete or be cancelled');
    expect(step.name).toBe('Capped.work');
    if (step.state === 'completed') expect(seen).toEqual(['work:1']);
    else {
      expect(step.state).toBe('cancelled');
      await harness.executor.waitFor(await harness.executor.dispatch(FireAndForget, []), { timeout: '10s' });
      expect(seen.length).toBeLessThanOrEqual(1);
      expect((await harness.executor.getJournal(id))[0]!.state).toBe('cancelled');
    }
  });
});
