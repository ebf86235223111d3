import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/executor-set.js';
import { childExecutionId } from '../support/executions.js';
import { finalStateOf, waitUntil } from '../support/wait.js';

const counts: Record<string, number> = {};
const bump = (name: string) => (counts[name] = (counts[name] ?? 0) + 1);
let broken = true;
const aborted: string[] = [];

class CascadeActs {
  async politeLong(tag: string, ms: number): Promise<string> {
    bump(tag);
    const { signal } = Stent.activity();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        aborted.push(tag);
        reject(signal.reason);
      });
    });
    return tag;
  }
  async quick(tag: string, ms: number): Promise<string> {
    bump(tag);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return tag;
  }
  async failsFast(): Promise<string> {
    bump('failsFast');
    if (broken) throw new Error('fails fast');
    return 'fast-ok';
  }
}
defineActivity(CascadeActs, { name: 'CascadeActs', retry: { maxAttempts: 1 } });

class SleepingGrandchild {
  constructor(private readonly acts: CascadeActs) {}
  async run(ms: number): Promise<string> {
    await Stent.sleep(200);
    return this.acts.politeLong('grandchild-work', ms);
  }
}
defineWorkflow(SleepingGrandchild, { name: 'SleepingGrandchild' });

class WorkingChild {
  constructor(
    private readonly acts: CascadeActs,
    private readonly grandchild: SleepingGrandchild,
  ) {}
  async run(ms: number): Promise<string> {
    const [a, b] = await Promise.all([this.grandchild.run(ms), this.acts.politeLong('child-work', ms)]);
    return `${a}+${b}`;
  }
}
defineWorkflow(WorkingChild, { name: 'WorkingChild' });

/** Fails (failsFast) while its child and grandchild still run. */
class FailsWhileChildrenRun {
  constructor(
    private readonly acts: CascadeActs,
    private readonly child: WorkingChild,
  ) {}
  async run(): Promise<string[]> {
    return Promise.all([this.child.run(1500), (async () => {
      await Stent.sleep(400);
      return this.acts.failsFast();
    })()]);
  }
}
defineWorkflow(FailsWhileChildrenRun, { name: 'FailsWhileChildrenRun' });

/** Starts a child and returns without awaiting it. */
class AbandonsChild {
  constructor(
    private readonly acts: CascadeActs,
    private readonly child: WorkingChild,
  ) {}
  async run(): Promise<string> {
    void this.child.run(5000).catch(() => undefined);
    await Stent.sleep(500);
    return 'done';
  }
}
defineWorkflow(AbandonsChild, { name: 'AbandonsChild' });

class QuickChild {
  constructor(private readonly acts: CascadeActs) {}
  async run(ms: number): Promise<string> {
    return this.acts.quick('qc', ms);
  }
}
defineWorkflow(QuickChild, { name: 'QuickChild' });

class AwaitsQuickChild {
  constructor(private readonly child: QuickChild) {}
  async run(ms: number): Promise<string> {
    try {
      return `child:${await this.child.run(ms)}`;
    } catch (error) {
      return `child failed:${(error as Error).name}`;
    }
  }
}
defineWorkflow(AwaitsQuickChild, { name: 'AwaitsQuickChild' });

describe.each(DIALECTS)('cancellation cascade on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    broken = true;
    aborted.length = 0;
    for (const key of Object.keys(counts)) delete counts[key];
    await harness?.dispose();
  });

  function instances() {
    const acts = new CascadeActs();
    const grandchild = new SleepingGrandchild(acts);
    const child = new WorkingChild(acts, grandchild);
    const quick = new QuickChild(acts);
    return [acts, grandchild, child, quick, new FailsWhileChildrenRun(acts, child), new AbandonsChild(acts, child), new AwaitsQuickChild(quick)];
  }

  const childOf = (id: string) => childExecutionId(harness.executor, id);

  it('a parent that completes with a child running cancels child and grandchild, and aborts their activities', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(AbandonsChild, []);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    const child = await harness.executor.getExecution(await childOf(id));
    const grandchild = await harness.executor.getExecution(await childOf(child.id));
    expect({ child: child.state, grandchild: grandchild.state }).toEqual({ child: 'cancelled', grandchild: 'cancelled' });
    await waitUntil(() => aborted.includes('child-work') && aborted.includes('grandchild-work'), 'both activities to be aborted', 5000);
  });

  it('dlq.replay of a parent that failed with child and grandchild running brings all three back and completes', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(FailsWhileChildrenRun, []);
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    const childId = await childOf(id);
    const grandchildId = await childOf(childId);
    expect((await harness.executor.getExecution(grandchildId)).state).toBe('cancelled');
    // the aborted attempts are recorded before the replay
    await waitUntil(
      async () =>
        aborted.length === 2 &&
        (await harness.executor.getJournal(grandchildId)).every((s) => s.state !== 'running') &&
        (await harness.executor.getJournal(childId)).every((s) => s.state !== 'running'),
      'aborted attempts recorded',
    );
    broken = false;
    const [letter] = (await harness.executor.dlq.list()).items;
    await harness.executor.dlq.replay(letter!.id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    expect((await harness.executor.waitFor(id, { timeout: '1s' })).value).toEqual(['grandchild-work+child-work', 'fast-ok']);
  });

  it('cancel(child) racing its completion: parent and child agree, cancel never throws', async () => {
    harness = await createHarness(dialect, instances());
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => harness.executor.dispatch(AwaitsQuickChild, [5 + (i % 10) * 8])));
    const errors: string[] = [];
    await Promise.all(
      ids.map(async (id, i) => {
        await waitUntil(async () => (await harness.executor.getJournal(id)).length > 0, 'child started', 10_000, 5);
        await new Promise((resolve) => setTimeout(resolve, (i * 13) % 90));
        try {
          await harness.executor.cancel(await childOf(id));
        } catch (error) {
          errors.push(String(error));
        }
      }),
    );
    expect(errors).toEqual([]);
    const mismatches: unknown[] = [];
    for (const id of ids) {
      const result = await harness.executor.waitFor<string>(id, { timeout: '15s' });
      const child = await harness.executor.getExecution(await childOf(id));
      const expected = child.state === 'completed' ? 'child:qc' : 'child failed:WorkflowCancelledError';
      if (result.value !== expected) mismatches.push({ id, child: child.state, parent: result.value });
    }
    expect(mismatches).toEqual([]);
  });

  it('cancel(parent) racing the completion of its awaited child never throws and leaves nothing active', async () => {
    harness = await createHarness(dialect, instances());
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => harness.executor.dispatch(AwaitsQuickChild, [5 + (i % 10) * 8])));
    const errors: string[] = [];
    await Promise.all(
      ids.map(async (id, i) => {
        await waitUntil(async () => (await harness.executor.getJournal(id)).length > 0, 'child started', 10_000, 5);
        await new Promise((resolve) => setTimeout(resolve, (i * 13) % 90));
        try {
          await harness.executor.cancel(id);
        } catch (error) {
          errors.push(String(error));
        }
      }),
    );
    expect(errors).toEqual([]);
    for (const id of ids) await harness.executor.waitFor(id, { timeout: '15s' });
    const stuck: unknown[] = [];
    for (const id of ids) {
      const child = await harness.executor.getExecution(await childOf(id));
      if (child.state === 'running' || child.state === 'pending') stuck.push({ id, child: child.state });
    }
    expect(stuck).toEqual([]);
  });
});
