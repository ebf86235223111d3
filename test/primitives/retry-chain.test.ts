import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, ExecutionFinishedError, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, ExecutorSet, FAST_WORKER, type Harness } from '../support/executor-set.js';
import { childExecutionId } from '../support/executions.js';
import { finalStateOf, waitUntil } from '../support/wait.js';

let broken = true;

class RequiredServiceActs {
  async required(): Promise<string> {
    if (broken) throw new Error('required service down');
    return 'required-ok';
  }
  async plain(x: string): Promise<string> {
    return `p:${x}`;
  }
}
defineActivity(RequiredServiceActs, { name: 'RequiredServiceActs', retry: { maxAttempts: 1 } });

/** Fails on `required` (position 0); once fixed it waits for a signal. */
class RequiredThenSignalChild {
  constructor(private readonly acts: RequiredServiceActs) {}
  async run(): Promise<string> {
    const value = await this.acts.required();
    await Stent.waitForSignal('go');
    return value;
  }
}
defineWorkflow(RequiredThenSignalChild, { name: 'RequiredThenSignalChild' });

/** Same, with a maxDuration. */
class RequiredChildWithDeadline {
  constructor(private readonly acts: RequiredServiceActs) {}
  async run(): Promise<string> {
    return this.acts.required();
  }
}
defineWorkflow(RequiredChildWithDeadline, { name: 'RequiredChildWithDeadline', maxDuration: '1500ms' });

class ParentOfSignalChild {
  constructor(private readonly child: RequiredThenSignalChild) {}
  async run(): Promise<string> {
    return `parent:${await this.child.run()}`;
  }
}
defineWorkflow(ParentOfSignalChild, { name: 'ParentOfSignalChild' });

class ParentOfDeadlineChild {
  constructor(private readonly child: RequiredChildWithDeadline) {}
  async run(): Promise<string> {
    return `parent:${await this.child.run()}`;
  }
}
defineWorkflow(ParentOfDeadlineChild, { name: 'ParentOfDeadlineChild' });

/** Its first durable call is a child execution. */
class ChildAtFirstPosition {
  constructor(
    private readonly acts: RequiredServiceActs,
    private readonly child: RequiredChildWithDeadline,
  ) {}
  async run(): Promise<string> {
    broken = false;
    return `collider:${await this.child.run()}`;
  }
}
defineWorkflow(ChildAtFirstPosition, { name: 'ChildAtFirstPosition' });

class SinglePlainCall {
  constructor(private readonly acts: RequiredServiceActs) {}
  async run(): Promise<string> {
    return this.acts.plain('t');
  }
}
defineWorkflow(SinglePlainCall, { name: 'SinglePlainCall' });

describe.each(DIALECTS)('retry of a failure chain through a child on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    broken = true;
    await harness?.dispose();
  });

  function instances() {
    const acts = new RequiredServiceActs();
    const child = new RequiredThenSignalChild(acts);
    const short = new RequiredChildWithDeadline(acts);
    return [acts, child, short, new ParentOfSignalChild(child), new ParentOfDeadlineChild(short), new ChildAtFirstPosition(acts, short), new SinglePlainCall(acts)];
  }

  it('retry(parent) after the child was revived (dlq.replay) and then cancelled does not leave the parent waiting forever', async () => {
    harness = await createHarness(dialect, instances());
    const ex = harness.executor;
    const id = await ex.dispatch(ParentOfSignalChild, []);
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
    const id = await ex.dispatch(ParentOfDeadlineChild, []);
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
    await ex.dispatch(SinglePlainCall, [], { executionId: `${parentId}.0` });
    const id = await ex.dispatch(ChildAtFirstPosition, [], { executionId: parentId });
    // The child gets an id of its own: the parent completes.
    const state = await finalStateOf(ex, id, '12s');
    const journal = await ex.getJournal(id);
    const errors = set.logger.lines.filter((l) => l.level === 'error').map((l) => l.message.slice(0, 160));
    expect(state, JSON.stringify({ journal: journal.map((s) => `${s.kind}:${s.state}`), errors: errors.slice(0, 3), errorCount: errors.length })).toBe('completed');
  });
});
