import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, InvalidNameError, setActivityMethodOptions, Stent, StentExecutor } from 'nestjs-stent';
import { createTestDatabase, DIALECTS } from '../support/databases.js';
import { createHarness, errorOf, FAST_WORKER, type Harness } from '../support/executor-set.js';

/** A fresh class per definition: definitions are kept on the class. */
function workflowClass(): new () => { run(): Promise<string> } {
  return class {
    async run(): Promise<string> {
      return 'ok';
    }
  };
}

function activityClass(): new () => { work(x: string): Promise<string> } {
  return class Acts {
    async work(x: string): Promise<string> {
      return `worked ${x}`;
    }
  };
}

function refused(fn: () => unknown, kind: string): void {
  let error: unknown;
  try {
    fn();
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected an InvalidNameError (${kind})`).toBeInstanceOf(InvalidNameError);
  expect(error).toMatchObject({ code: 'STENT_INVALID_NAME', kind, category: 'bad_input' });
}

// The longest names the columns hold, in characters (PostgreSQL counts characters, not bytes).
const LONGEST_WORKFLOW = `Longest${'é'.repeat(248)}`;
const LONGEST_QUEUE = `q${'ü'.repeat(127)}`;
const LONGEST_ACTIVITY = `${'a'.repeat(200)}.${'m'.repeat(54)}`;

class LongNamedActs {
  async work(x: string): Promise<string> {
    return `worked ${x}`;
  }
}
setActivityMethodOptions(LongNamedActs.prototype, 'work', { name: LONGEST_ACTIVITY, queue: LONGEST_QUEUE, tags: ['ünïcode-tag'] });
defineActivity(LongNamedActs);

class LongNamedFlow {
  constructor(private readonly acts: LongNamedActs) {}
  async run(x: string): Promise<string> {
    const worked = await this.acts.work(x);
    const signal = await Stent.waitForSignal<string>(`s${'ß'.repeat(254)}`);
    return `${worked} + ${signal}`;
  }
}
defineWorkflow(LongNamedFlow, { name: LONGEST_WORKFLOW, queue: LONGEST_QUEUE });

class BadSignalFlow {
  async run(): Promise<unknown> {
    return Stent.waitForSignal('bad\u0000signal');
  }
}
defineWorkflow(BadSignalFlow, { name: 'NamesBadSignalFlow' });

describe('names are checked where they are declared', () => {
  it('workflow names: NUL, lone surrogates, empty and over-long names are refused at definition', () => {
    refused(() => defineWorkflow(workflowClass(), { name: 'Orders\u0000Flow' }), 'workflow');
    refused(() => defineWorkflow(workflowClass(), { name: 'Orders\uD800Flow' }), 'workflow');
    refused(() => defineWorkflow(workflowClass(), { name: '' }), 'workflow');
    refused(() => defineWorkflow(workflowClass(), { name: 'w'.repeat(256) }), 'workflow');
    expect(() => defineWorkflow(workflowClass(), { name: 'w'.repeat(255) })).not.toThrow();
    expect(() => defineWorkflow(workflowClass(), { name: '工作流🚀' })).not.toThrow();
  });

  it('activity names (class prefix or method name), queues and tags are refused at definition', () => {
    refused(() => defineActivity(activityClass(), { name: 'Pay\u0000ments' }), 'activity');
    refused(() => defineActivity(activityClass(), { name: 'p'.repeat(251) }), 'activity'); // + '.work' is 256
    const Acts = activityClass();
    setActivityMethodOptions(Acts.prototype, 'work', { name: 'x'.repeat(256) });
    refused(() => defineActivity(Acts), 'activity');
    refused(() => defineActivity(activityClass(), { queue: 'q'.repeat(129) }), 'queue');
    refused(() => defineWorkflow(workflowClass(), { queue: 'slow\u0000' }), 'queue');
    refused(() => defineWorkflow(workflowClass(), { tags: ['gpu', 'eu\u0000'] }), 'tag');
    refused(() => setActivityMethodOptions(activityClass().prototype, 'work', { tags: [''] }), 'tag');
  });

  it('a cached activity whose name leaves no room for its cache key is refused unless it has a key function', () => {
    refused(() => defineActivity(activityClass(), { name: 'c'.repeat(190), cached: true }), 'activity');
    expect(() => defineActivity(activityClass(), { name: 'c'.repeat(190), cached: true, key: (x: string) => x })).not.toThrow();
    expect(() => defineActivity(activityClass(), { name: 'c'.repeat(150), idempotent: true })).not.toThrow();
  });

  it('worker queues and tags are checked when the executor is built', async () => {
    const db = await createTestDatabase('sqlite');
    const store = await createStentStore({ database: db.options });
    try {
      refused(() => new StentExecutor({ store, worker: { queues: ['default', 'eu\u0000'] } }), 'queue');
      refused(() => new StentExecutor({ store, worker: { tags: ['x'.repeat(256)] } }), 'tag');
    } finally {
      await store.close();
      await db.dispose();
    }
  });
});

describe.each(DIALECTS)('names at the limits on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  it('the longest names and queues (multi-byte characters included) are stored and run', async () => {
    const acts = new LongNamedActs();
    harness = await createHarness(dialect, [acts, new LongNamedFlow(acts)], { ...FAST_WORKER, queues: ['default', LONGEST_QUEUE] });
    const { executor } = harness;
    const id = await executor.dispatch(LongNamedFlow, ['x'], { idempotencyKey: 'k'.repeat(255), executionId: 'e'.repeat(128) });
    await executor.sendSignal(id, `s${'ß'.repeat(254)}`, 'signalled');
    const result = await executor.waitFor(id, { timeout: '20s' });
    expect(result.value).toBe('worked x + signalled');
    const info = await executor.getExecution(id);
    expect(info.workflowName).toBe(LONGEST_WORKFLOW);
    expect(info.queue).toBe(LONGEST_QUEUE);
    expect((await executor.getJournal(id))[0]!.name).toBe(LONGEST_ACTIVITY);
  });

  it('dispatch ids and keys, and signal names, are refused before anything is stored', async () => {
    const acts = new LongNamedActs();
    harness = await createHarness(dialect, [acts, new LongNamedFlow(acts), new BadSignalFlow()]);
    const { executor } = harness;
    expect(await errorOf(() => executor.dispatch(LongNamedFlow, ['x'], { executionId: 'e'.repeat(129) }))).toMatchObject({ code: 'STENT_INVALID_NAME', kind: 'execution id' });
    expect(await errorOf(() => executor.dispatch(LongNamedFlow, ['x'], { idempotencyKey: 'k\u0000' }))).toMatchObject({ kind: 'idempotency key' });
    expect(await errorOf(() => executor.dispatch(LongNamedFlow, ['x'], { queue: 'q'.repeat(129) }))).toMatchObject({ kind: 'queue' });
    expect(await errorOf(() => executor.dispatch(LongNamedFlow, ['x'], { tags: ['a\u0000b'] }))).toMatchObject({ kind: 'tag' });
    expect((await executor.listExecutions()).total).toBe(0);
    const id = await executor.dispatch(LongNamedFlow, ['x']);
    expect(await errorOf(() => executor.sendSignal(id, 's'.repeat(256), 1))).toMatchObject({ kind: 'signal' });
    // Inside a workflow the refusal is the workflow's own error; nothing reaches the database.
    const bad = await executor.waitFor(await executor.dispatch(BadSignalFlow, []), { timeout: '20s' });
    expect(bad.state).toBe('failed');
    expect(bad.error).toBeInstanceOf(InvalidNameError);
  });
});
