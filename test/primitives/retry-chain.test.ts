import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, ExecutionFinishedError, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, FAST_WORKER, type Harness } from '../support/harness.js';
import { ExecutorSet } from '../support/executor-set.js';
import { childExecutionId } from '../support/executions.js';
import { finalStateOf, waitUntil } from '../support/wait.js';

let broken = true;

class R3cActs {
  async required(): Promise<string> {
    if (broken) throw new Error('required service down');
    return 'required-ok';
  }
  async plain(x: string): Promise<string> {
    return `p:${x}`;
  }
}
defineActivity(R3cActs, { name: 'R3cActs', retry: { maxAttempts: 1 } });

/** Fails on `required` (position 0); once fixed it waits for a signal. */
class R3cChild {
  constructor(private readonly acts: R3cActs) {}
  async run(): Promise<string> {
    const value = await this.acts.required();
    await Stent.waitForSignal('go');
    return value;
  }
}
defineWorkflow(R3cChild, { name: 'R3cChild' });

/** Same, with a maxDuration. */
class R3cShortChild {
  constructor(private readonly acts: R3cActs) {}
  async run(): Promise<string> {
    return this.acts.required();
  }
}
defineWorkflow(R3cShortChild, { name: 'R3cShortChild', maxDuration: '1500ms' });

class R3cParent {
  constructor(private readonly child: R3cChild) {}
  async run(): Promise<string> {
    return `parent:${await this.child.run()}`;
  }
}
defineWorkflow(R3cParent, { name: 'R3cParent' });

class R3cShortParent {
  constructor(private readonly child: R3cShortChild) {}
  async run(): Promise<string> {
    return `parent:${await this.child.run()}`;
  }
}
defineWorkflow(R3cShortParent, { name: 'R3cShortParent' });

/** Its first durable call is a child execution. */
class R3cCollider {
  constructor(
    private readonly acts: R3cActs,
    private readonly child: R3cShortChild,
  ) {}
  async run(): Promise<string> {
    broken = false;
    return `collider:${await this.child.run()}`;
  }
}
defineWorkflow(R3cCollider, { name: 'R3cCollider' });

class R3cTrivial {
  constructor(private readonly acts: R3cActs) {}
  async run(): Promise<string> {
    return this.acts.plain('t');
  }
}
defineWorkflow(R3cTrivial, { name: 'R3cTrivial' });

describe.each(DIALECTS)('retry of a failure chain through a child on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    broken = true;
    await harness?.dispose();
  });

  function instances() {
    const acts = new R3cActs();
    const child = new R3cChild(acts);
    const short = new R3cShortChild(acts);
    return [acts, child, short, new R3cParent(child), new R3cShortParent(short), new R3cCollider(acts, short), new R3cTrivial(acts)];
  }

  it('retry(parent) after the child was revived (dlq.replay) and then cancelled does not leave the parent waiting forever', async () => {
    harness = await createHarness(dialect, instances());
    const ex = harness.executor;
    const id = await ex.dispatch(R3cParent, []);
    expect(await finalStateOf(ex, id)).toBe('failed');
    const childId = await childExecutionId(ex, id);
    expect((await ex.getExecution(childId)).state).toBe('failed');

    broken = false;
    const letter = (await ex.dlq.list()).items.find((l) => l.executionId === childId)!;
    await ex.dlq.replay(letter.id);
    await waitUntil(async () => (await ex.getJournal(childId)).some((s) => s.kind === 'signal'), 'the revived child to wait for its signal');
    expect((await ex.cancel(childId)).cancelled).toBe(true);

    // The parent's failure names the child's step: retry() follows the chain into the (cancelled) child.
    // The parent's failure names the child's step, and that child can no longer be revived: refused, nothing changed.
    const refused = await ex.retry(id).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ExecutionFinishedError);
    expect((await ex.getExecution(id)).state).toBe('failed');
    expect((await ex.getJournal(id)).map((s) => `${s.kind}:${s.state}`)).toEqual(['child:failed']);
  });

  it('retry(parent) after the child was revived (dlq.replay) and timed out does not leave the parent waiting forever', async () => {
    harness = await createHarness(dialect, instances());
    const ex = harness.executor;
    const id = await ex.dispatch(R3cShortParent, []);
    expect(await finalStateOf(ex, id)).toBe('failed');
    const childId = await childExecutionId(ex, id);
    broken = false;
    await waitUntil(async () => Date.now() > (await ex.getExecution(childId)).deadlineAt!.getTime(), "the child's maxDuration to pass");
    const letter = (await ex.dlq.list()).items.find((l) => l.executionId === childId)!;
    await ex.dlq.replay(letter.id);
    expect(await finalStateOf(ex, childId)).toBe('timed_out');

    // The parent's failure names the child's step, and that child can no longer be revived: refused, nothing changed.
    const refused = await ex.retry(id).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ExecutionFinishedError);
    expect((await ex.getExecution(id)).state).toBe('failed');
    expect((await ex.getJournal(id)).map((s) => `${s.kind}:${s.state}`)).toEqual(['child:failed']);
  });

  it('an execution dispatched with the id a child execution will get does not wedge the parent forever', async () => {
    const set = await ExecutorSet.create(dialect);
    harness = { dispose: () => set.dispose() } as Harness;
    const ex = await set.executor(instances(), FAST_WORKER);
    const parentId = `collide-${Date.now()}`;
    // The user's own id happens to look like an engine child id.
    await ex.dispatch(R3cTrivial, [], { executionId: `${parentId}.0` });
    const id = await ex.dispatch(R3cCollider, [], { executionId: parentId });
    // The child gets an id of its own: the parent completes.
    const state = await finalStateOf(ex, id, '12s');
    const journal = await ex.getJournal(id);
    const errors = set.logger.lines.filter((l) => l.level === 'error').map((l) => l.message.slice(0, 160));
    expect(state, JSON.stringify({ journal: journal.map((s) => `${s.kind}:${s.state}`), errors: errors.slice(0, 3), errorCount: errors.length })).toBe('completed');
  });
});
