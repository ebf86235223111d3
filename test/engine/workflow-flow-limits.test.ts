import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError, defineWorkflow, InvalidDurationError, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, FAST_WORKER, type Harness } from '../support/executor-set.js';
import { openInspector, type Inspector } from '../support/inspector.js';
import { finalStateOf, waitUntil } from '../support/wait.js';

/** One execution per account at a time; it waits for a signal, so a test decides when it ends. */
class AccountJob {
  async run(account: string): Promise<string> {
    const word = await Stent.waitForSignal<string>('go');
    return `${account}:${word}`;
  }
}
defineWorkflow(AccountJob, { name: 'WfLimitAccountJob', concurrency: { key: (args) => args[0] as string, limit: 1 } });

/** Starts an AccountJob child, which gets its key from its own arguments. */
class StartsAccountJob {
  async run(account: string): Promise<string> {
    return new AccountJob().run(account);
  }
}
defineWorkflow(StartsAccountJob, { name: 'WfLimitStartsAccountJob' });

const instances = () => [new AccountJob(), new StartsAccountJob()];

describe('workflow flow-limit options', () => {
  const define = (options: object) => {
    class Target {
      async run(): Promise<void> {}
    }
    return () => defineWorkflow(Target, options);
  };

  it('refuses bad limits, keys and windows at definition', () => {
    expect(define({ concurrency: { key: () => 'k', limit: 0 } })).toThrow(ConfigurationError);
    expect(define({ concurrency: { key: 'tenant', limit: 2 } })).toThrow(ConfigurationError);
    expect(define({ concurrency: 2 })).toThrow(ConfigurationError);
    expect(define({ rateLimit: { limit: 2.5, per: '1s' } })).toThrow(ConfigurationError);
    expect(define({ rateLimit: { limit: 5, per: 0 } })).toThrow(ConfigurationError);
    expect(define({ rateLimit: { limit: 5, per: 'soon' } })).toThrow(InvalidDurationError);
    expect(define({ rateLimit: { limit: 5, per: '1s', key: 'tenant' } })).toThrow(ConfigurationError);
  });
});

describe.each(DIALECTS)('workflow-level concurrency keys (%s)', (dialect) => {
  let harness: Harness | undefined;
  let inspector: Inspector | undefined;
  afterEach(async () => {
    await inspector?.close();
    inspector = undefined;
    await harness?.dispose();
    harness = undefined;
  });

  const row = async (id: string) =>
    (await inspector!.query<{ started_at: unknown; concurrency_key: string | null }>(`SELECT started_at, concurrency_key FROM ${inspector!.t.executions} WHERE id = ?`, [id]))[0]!;
  /** When the execution first started (null before); waitUntil takes a start as done. */
  const startedAt = async (id: string) => {
    const { started_at } = await row(id);
    return started_at === null ? null : Number(started_at);
  };

  it('an execution held in memory keeps its slot: the next of its key waits (even dispatched by the worker process), other keys go on', async () => {
    harness = await createHarness(dialect, instances(), { ...FAST_WORKER, suspendAfter: '60s' });
    inspector = await openInspector(harness.db);
    const { executor } = harness;
    expect(executor.listDefinitions().workflows.find((w) => w.name === 'WfLimitAccountJob')).toMatchObject({ concurrency: { limit: 1 }, rateLimit: null });
    const first = await executor.dispatch(AccountJob, ['acme']);
    await waitUntil(() => startedAt(first), 'the first to start');
    const second = await executor.dispatch(AccountJob, ['acme']);
    const other = await executor.dispatch(AccountJob, ['globex']);
    await waitUntil(() => startedAt(other), 'the other key to start');
    await executor.sendSignal(other, 'go', 'done');
    expect(await finalStateOf(executor, other)).toBe('completed');
    // Claims that started and finished the other key's execution passed the second by: it still waits.
    expect(await startedAt(second)).toBeNull();
    expect((await row(second)).concurrency_key).toBe('acme');

    await executor.sendSignal(first, 'go', 'one');
    expect(await finalStateOf(executor, first)).toBe('completed');
    await waitUntil(() => startedAt(second), 'the second to start once the first ended');
    await executor.sendSignal(second, 'go', 'two');
    expect((await executor.waitFor(second, { timeout: '15s' })).unwrap()).toBe('acme:two');
  });

  it('a suspended execution holds no slot: the next of its key starts while it waits', async () => {
    harness = await createHarness(dialect, instances(), { ...FAST_WORKER, suspendAfter: '200ms' });
    inspector = await openInspector(harness.db);
    const { executor } = harness;
    const first = await executor.dispatch(AccountJob, ['acme']);
    const second = await executor.dispatch(AccountJob, ['acme']);
    await waitUntil(async () => (await startedAt(first)) !== null && (await startedAt(second)) !== null, 'both to start, one after the other suspended');
    for (const id of [first, second]) await executor.sendSignal(id, 'go', 'x');
    for (const id of [first, second]) expect(await finalStateOf(executor, id)).toBe('completed');
  });

  it('a child execution gets its key from its own arguments', async () => {
    harness = await createHarness(dialect, instances(), FAST_WORKER);
    inspector = await openInspector(harness.db);
    const { executor } = harness;
    const parent = await executor.dispatch(StartsAccountJob, ['initech']);
    const child = await waitUntil(
      async () => (await inspector!.query<{ id: string; concurrency_key: string }>(`SELECT id, concurrency_key FROM ${inspector!.t.executions} WHERE parent_id = ?`, [parent]))[0],
      'the child execution',
    );
    expect(child.concurrency_key).toBe('initech');
    await waitUntil(() => startedAt(child.id), 'the child to start');
    await executor.sendSignal(child.id, 'go', 'child');
    expect((await executor.waitFor(parent, { timeout: '15s' })).unwrap()).toBe('initech:child');
  });
});
