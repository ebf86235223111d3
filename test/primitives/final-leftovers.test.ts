import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { finalStateOf, waitUntil } from '../support/wait.js';
import { openInspector, type Inspector } from '../support/inspector.js';
import { invariantProblems } from '../support/invariants.js';

/** Bodies still running or returned; a test waits for them to return instead of guessing how long they take. */
const bodies: Array<Promise<unknown>> = [];

/** Ignores its AbortSignal and runs for `ms`. */
class IgnoresAbortActs {
  async stubborn(ms: number): Promise<string> {
    const body = new Promise((resolve) => setTimeout(resolve, ms));
    bodies.push(body);
    await body;
    return 'stubborn-done';
  }
}
defineActivity(IgnoresAbortActs, { name: 'IgnoresAbortActs', retry: { maxAttempts: 3, initialDelay: '50ms' } });

class AwaitsStubbornActivity {
  constructor(private readonly acts: IgnoresAbortActs) {}
  async run(ms: number): Promise<string> {
    return this.acts.stubborn(ms);
  }
}
defineWorkflow(AwaitsStubbornActivity, { name: 'AwaitsStubbornActivity' });

/** Returns without awaiting the activity it started. */
class ReturnsBeforeItsActivity {
  constructor(private readonly acts: IgnoresAbortActs) {}
  async run(ms: number): Promise<string> {
    void this.acts.stubborn(ms);
    await Stent.sleep(50);
    return 'early';
  }
}
defineWorkflow(ReturnsBeforeItsActivity, { name: 'ReturnsBeforeItsActivity' });

describe.each(DIALECTS)('steps left behind by a final execution on %s', (dialect) => {
  let set: ExecutorSet;
  let inspector: Inspector | undefined;
  afterEach(async () => {
    await Promise.all(bodies.splice(0));
    await inspector?.close();
    inspector = undefined;
    await set?.dispose();
  });

  function instances() {
    const acts = new IgnoresAbortActs();
    return [acts, new AwaitsStubbornActivity(acts), new ReturnsBeforeItsActivity(acts)];
  }

  it('a cancelled execution whose running activity is then given up by its worker (close) keeps no pending step', async () => {
    set = await ExecutorSet.create(dialect);
    const a = await set.executor(instances());
    const observer = await set.executor(instances(), false);
    inspector = await openInspector(set.db);
    const id = await a.dispatch(AwaitsStubbornActivity, [2500]);
    await waitUntil(async () => (await a.getJournal(id))[0]?.state === 'running', 'the activity to run');
    await a.cancel(id);
    expect(await finalStateOf(observer, id)).toBe('cancelled');
    await a.close('200ms'); // the body ignores its signal: the worker gives the attempt up
    await Promise.all(bodies); // the body has returned: its late result had its chance to land
    await new Promise((resolve) => setImmediate(resolve));
    const journal = await observer.getJournal(id);
    const stats = await observer.stats();
    expect({ steps: journal.map((s) => s.state), due: stats.activities.due, problems: await invariantProblems(inspector, [id]) }).toEqual({
      steps: ['cancelled'],
      due: 0,
      problems: [],
    });
  });

  it('a cancelled execution whose activity worker stopped renewing its lease keeps no pending step after the reap', async () => {
    set = await ExecutorSet.create(dialect);
    // A worker that does not renew (paused, or about to die): its lease of 1 s runs out while the body runs.
    const a = await set.executor(instances(), { ...QUICK_WORKER, lease: '1s', heartbeat: '1h' });
    const observer = await set.executor(instances(), false);
    inspector = await openInspector(set.db);
    const id = await a.dispatch(AwaitsStubbornActivity, [4000]);
    await waitUntil(async () => (await a.getJournal(id))[0]?.state === 'running', 'the activity to run');
    await a.cancel(id);
    expect(await finalStateOf(observer, id)).toBe('cancelled');
    // Another healthy worker reaps expired leases.
    await set.executor(instances(), { ...QUICK_WORKER, lease: '1s' });
    await waitUntil(async () => (await inspector!.scalar(`SELECT COUNT(*) FROM ${inspector!.t.steps} WHERE execution_id = ? AND lease_owner IS NOT NULL`, [id])) === 0, 'the expired lease to be reaped');
    const journal = await observer.getJournal(id);
    const stats = await observer.stats();
    expect({ steps: journal.map((s) => s.state), due: stats.activities.due, problems: await invariantProblems(inspector, [id]) }).toEqual({
      steps: ['cancelled'],
      due: 0,
      problems: [],
    });
  });

  it('a completed execution whose fire-and-forget activity is given up by its worker (close) keeps no pending step', async () => {
    set = await ExecutorSet.create(dialect);
    const a = await set.executor(instances());
    const observer = await set.executor(instances(), false);
    inspector = await openInspector(set.db);
    const id = await a.dispatch(ReturnsBeforeItsActivity, [2500]);
    expect(await finalStateOf(observer, id)).toBe('completed');
    await waitUntil(async () => (await a.getJournal(id))[0]?.state === 'running', 'the activity to run');
    await a.close('200ms');
    await Promise.all(bodies); // the body has returned: its late result had its chance to land
    await new Promise((resolve) => setImmediate(resolve));
    const journal = await observer.getJournal(id);
    const stats = await observer.stats();
    expect({ steps: journal.map((s) => `${s.kind}:${s.state}`), due: stats.activities.due, problems: await invariantProblems(inspector, [id]) }).toEqual({
      steps: ['activity:cancelled', 'sleep:completed'],
      due: 0,
      problems: [],
    });
  });
});
