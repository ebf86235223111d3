import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { finalStateOf } from '../support/wait.js';
import { childExecutionId } from '../support/executions.js';
import { openInspector, type Inspector } from '../e2e/fault-harness.js';
import { invariantProblems } from '../support/invariants.js';

const counts: Record<string, number> = {};
const bump = (name: string) => (counts[name] = (counts[name] ?? 0) + 1);
let broken = true;

class R3gActs {
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
defineActivity(R3gActs, { name: 'R3gActs', retry: { maxAttempts: 1 } });

class R3gGrand {
  constructor(private readonly acts: R3gActs) {}
  async run(): Promise<string> {
    const a = await this.acts.steady('g0');
    Stent.incrementCounter('g', 1);
    return `${a}/${await this.acts.deep()}`;
  }
}
defineWorkflow(R3gGrand, { name: 'R3gGrand' });

class R3gChild {
  constructor(
    private readonly acts: R3gActs,
    private readonly grand: R3gGrand,
  ) {}
  async run(): Promise<string> {
    const [a, g] = await Promise.all([this.acts.steady('c0'), this.grand.run()]);
    Stent.incrementCounter('c', 1);
    return `${a}|${g}`;
  }
}
defineWorkflow(R3gChild, { name: 'R3gChild' });

class R3gParent {
  constructor(
    private readonly acts: R3gActs,
    private readonly child: R3gChild,
  ) {}
  async run(): Promise<string> {
    const a = await this.acts.steady('p0');
    Stent.setProgress({ at: 'child' });
    const c = await this.child.run();
    return `${a}#${c}`;
  }
}
defineWorkflow(R3gParent, { name: 'R3gParent' });

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
    const acts = new R3gActs();
    const grand = new R3gGrand(acts);
    const child = new R3gChild(acts, grand);
    const ex = await set.executor([acts, grand, child, new R3gParent(acts, child)], { concurrency: 8, pollInterval: '20ms', maxPollInterval: '200ms', lease: '5s', suspendAfter: '300ms' });
    inspector = await openInspector(set.db);
    const id = await ex.dispatch(R3gParent, []);
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
