import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { finalStateOf } from '../support/wait.js';
import { childExecutionId } from '../support/executions.js';
import { openInspector, type Inspector } from '../support/inspector.js';
import { invariantProblems } from '../support/invariants.js';

const counts: Record<string, number> = {};
const bump = (name: string) => (counts[name] = (counts[name] ?? 0) + 1);
let broken = true;

class DeepServiceActs {
  async deep(): Promise<string> {
    bump('deep');
    if (broken) throw new Error('deep down');
    return 'deep-ok';
  }
  async steady(x: string): Promise<string> {
    bump(`steady:${x}`);
    return `s:${x}`;
  }
}
defineActivity(DeepServiceActs, { name: 'DeepServiceActs', retry: { maxAttempts: 1 } });

class FailingGrandchild {
  constructor(private readonly acts: DeepServiceActs) {}
  async run(): Promise<string> {
    const a = await this.acts.steady('g0');
    Stent.incrementCounter('g', 1);
    return `${a}/${await this.acts.deep()}`;
  }
}
defineWorkflow(FailingGrandchild, { name: 'FailingGrandchild' });

class ChildOfFailingGrandchild {
  constructor(
    private readonly acts: DeepServiceActs,
    private readonly grand: FailingGrandchild,
  ) {}
  async run(): Promise<string> {
    const [a, g] = await Promise.all([this.acts.steady('c0'), this.grand.run()]);
    Stent.incrementCounter('c', 1);
    return `${a}|${g}`;
  }
}
defineWorkflow(ChildOfFailingGrandchild, { name: 'ChildOfFailingGrandchild' });

class GrandparentFlow {
  constructor(
    private readonly acts: DeepServiceActs,
    private readonly child: ChildOfFailingGrandchild,
  ) {}
  async run(): Promise<string> {
    const a = await this.acts.steady('p0');
    Stent.setProgress({ at: 'child' });
    const c = await this.child.run();
    return `${a}#${c}`;
  }
}
defineWorkflow(GrandparentFlow, { name: 'GrandparentFlow' });

describe.each(DIALECTS)('retry of a grandchild failure chain on %s', (dialect) => {
  let set: ExecutorSet;
  let inspector: Inspector | undefined;
  afterEach(async () => {
    broken = true;
    for (const key of Object.keys(counts)) delete counts[key];
    await inspector?.close();
    inspector = undefined;
    await set?.dispose();
  });

  it('retry(parent) twice (still broken, then fixed) revives parent, child and grandchild; nothing completed runs again', async () => {
    set = await ExecutorSet.create(dialect);
    const acts = new DeepServiceActs();
    const grand = new FailingGrandchild(acts);
    const child = new ChildOfFailingGrandchild(acts, grand);
    const ex = await set.executor([acts, grand, child, new GrandparentFlow(acts, child)], { concurrency: 8, pollInterval: '20ms', maxPollInterval: '200ms', lease: '5s', suspendAfter: '300ms' });
    inspector = await openInspector(set.db);
    const id = await ex.dispatch(GrandparentFlow, []);
    expect(await finalStateOf(ex, id)).toBe('failed');
    const childId = await childExecutionId(ex, id);
    const grandId = await childExecutionId(ex, childId);
    expect([(await ex.getExecution(childId)).state, (await ex.getExecution(grandId)).state]).toEqual(['failed', 'failed']);
    await ex.retry(id);
    expect(await finalStateOf(ex, id)).toBe('failed');
    expect(await invariantProblems(inspector)).toEqual([]);
    broken = false;
    await ex.retry(id);
    expect(await finalStateOf(ex, id)).toBe('completed');
    expect((await ex.waitFor(id, { timeout: '1s' })).value).toBe('s:p0#s:c0|s:g0/deep-ok');
    expect([(await ex.getExecution(childId)).state, (await ex.getExecution(grandId)).state]).toEqual(['completed', 'completed']);
    expect(counts).toEqual({ 'steady:p0': 1, 'steady:c0': 1, 'steady:g0': 1, deep: 3 });
    expect((await ex.getExecution(grandId)).counters).toEqual({ g: 1 });
    expect((await ex.getExecution(childId)).counters).toEqual({ c: 1 });
    expect((await ex.getExecution(id)).progress).toEqual({ at: 'child' });
    expect(await invariantProblems(inspector)).toEqual([]);
    expect((await ex.dlq.list()).total).toBe(0);
  });
});
