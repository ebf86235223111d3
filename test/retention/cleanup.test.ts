import { afterEach, describe, expect, it } from 'vitest';
import { ExecutionNotFoundError, InvalidDurationError, InvalidFilterError, type StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { errorOf, ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { onDatabase, rowsOf } from '../support/table-rows.js';
import { waitUntil } from '../support/wait.js';
import { Backorder, HeldShipment, retentionInstances, Shipment } from '../fixtures/retention-flows.js';

describe.each(DIALECTS)('executor.cleanup on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  async function world(): Promise<{ executor: StentExecutor; done: string; failed: string; held: string; heldChild: string; all: (id: string) => Promise<string[]> }> {
    set = await ExecutorSet.create(dialect);
    const executor = await set.executor(retentionInstances(), QUICK_WORKER);
    const done = await executor.dispatch(Shipment, [['a', 'b', 'c']]);
    const failed = await executor.dispatch(Backorder, ['z']);
    const held = await executor.dispatch(HeldShipment, ['h']);
    expect((await executor.waitFor(done, { timeout: '30s' })).state).toBe('completed');
    expect((await executor.waitFor(failed, { timeout: '30s' })).state).toBe('failed');
    const heldChild = await waitUntil(async () => {
      const detail = await executor.getExecution(held);
      return detail.children[0]?.state === 'completed' && detail.state === 'running' ? detail.children[0].id : null;
    }, 'the held shipment to finish its child and wait');
    // A signal kept for the held execution, and one a finished execution consumed on its way.
    await executor.sendSignal(held, 'later', 1);
    const all = async (id: string) => [id, ...(await executor.listExecutions({ parentId: id })).items.map((item) => item.id)];
    return { executor, done, failed, held, heldChild, all };
  }

  it('removes finished trees with their steps, signals and dead letters; a running tree and its finished child stay whole', async () => {
    const { executor, done, failed, held, heldChild, all } = await world();
    const doneTree = await all(done);
    expect(doneTree).toHaveLength(4);
    const keptBefore = await rowsOf(set!.db, [held, heldChild]);
    const removedBefore = await rowsOf(set!.db, [...doneTree, failed]);
    expect(removedBefore).toMatchObject({ executions: 5, deadLetters: 1 });
    expect(removedBefore.steps).toBeGreaterThanOrEqual(8);

    const dry = await executor.cleanup({ olderThan: 0, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, executions: 5, steps: removedBefore.steps, signals: removedBefore.signals, deadLetters: 1, skipped: 0 });
    expect(await rowsOf(set!.db, [...doneTree, failed])).toEqual(removedBefore);

    const onlyFailed = await executor.cleanup({ olderThan: 0, states: ['failed'] });
    expect(onlyFailed).toMatchObject({ dryRun: false, executions: 1, deadLetters: 1, skipped: 0 });
    expect(await rowsOf(set!.db, [failed])).toEqual({ executions: 0, steps: 0, signals: 0, deadLetters: 0 });
    expect((await rowsOf(set!.db, doneTree)).executions).toBe(4);

    const report = await executor.cleanup({ olderThan: 0, batchSize: 1 });
    expect(report).toMatchObject({ executions: 4, skipped: 0 });
    expect(report.batches).toBeGreaterThanOrEqual(2);
    expect(await rowsOf(set!.db, doneTree)).toEqual({ executions: 0, steps: 0, signals: 0, deadLetters: 0 });
    expect(await errorOf(() => executor.getExecution(done))).toBeInstanceOf(ExecutionNotFoundError);
    expect(await rowsOf(set!.db, [held, heldChild])).toEqual(keptBefore);

    // The kept tree still works: its signals are there, it finishes, and then it goes too.
    await executor.sendSignal(held, 'release', 'go');
    expect(await executor.waitFor(held, { timeout: '30s' })).toMatchObject({ ok: true, value: 'go' });
    expect(await executor.cleanup({ olderThan: 0 })).toMatchObject({ executions: 2, skipped: 0 });
    expect(await rowsOf(set!.db, [held, heldChild])).toEqual({ executions: 0, steps: 0, signals: 0, deadLetters: 0 });
  });

  it('keeps what finished more recently than olderThan', async () => {
    const { executor, done } = await world();
    expect(await executor.cleanup({ olderThan: '1h' })).toMatchObject({ executions: 0, skipped: 0 });
    expect((await executor.getExecution(done)).state).toBe('completed');
  });

  it('removes expired cache rows and worker rows silent longer than workersOlderThan, not live ones', async () => {
    const { executor } = await world();
    const now = Date.now();
    await onDatabase(set!.db, async (sql, _scalar, t) => {
      await sql(`INSERT INTO ${t.cache} (cache_key, name, result, created_at, expires_at) VALUES ('old', 'Stock.price', '1', ?, ?), ('forever', 'Stock.price', '1', ?, NULL), ('fresh', 'Stock.price', '1', ?, ?)`, [now - 10_000, now - 5_000, now, now, now + 3_600_000]);
      await sql(`INSERT INTO ${t.workers} (id, hostname, pid, queues, state, started_at, heartbeat_at) VALUES ('gone:1', 'old-host', 1, '["default"]', 'stopped', ?, ?)`, [now - 9 * 86_400_000, now - 8 * 86_400_000]);
    });
    const report = await executor.cleanup({ olderThan: '30d', workersOlderThan: '7d' });
    expect(report.cacheRows).toBeGreaterThanOrEqual(1);
    expect(report.workers).toBe(1);
    const left = await onDatabase(set!.db, async (sql, _scalar, t) => ({
      cache: (await sql(`SELECT cache_key FROM ${t.cache} ORDER BY cache_key`)).map((row) => (row as { cache_key: string }).cache_key),
      workers: (await sql(`SELECT id FROM ${t.workers}`)).map((row) => (row as { id: string }).id),
    }));
    expect(left.cache).toEqual(expect.arrayContaining(['forever', 'fresh']));
    expect(left.cache).not.toContain('old');
    expect(left.workers).toEqual([executor.worker!.ownerId]);
  });

  it('refuses bad options with typed errors', async () => {
    set = await ExecutorSet.create(dialect);
    const executor = await set.executor([], false);
    expect(await errorOf(() => executor.cleanup({} as never))).toMatchObject({ code: 'STENT_INVALID_FILTER', field: 'olderThan' });
    expect(await errorOf(() => executor.cleanup({ olderThan: 'soon' }))).toBeInstanceOf(InvalidDurationError);
    expect(await errorOf(() => executor.cleanup({ olderThan: '1d', states: ['running' as never] }))).toBeInstanceOf(InvalidFilterError);
    expect(await errorOf(() => executor.cleanup({ olderThan: '1d', batchSize: 0 }))).toMatchObject({ code: 'STENT_INVALID_FILTER', field: 'batchSize' });
  });
});
