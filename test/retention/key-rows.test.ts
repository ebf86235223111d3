import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { onDatabase } from '../support/table-rows.js';

class KeyRowsActs {
  async call(n: number): Promise<number> {
    return n;
  }
}
defineActivity(KeyRowsActs, { name: 'KeyRowsActs', rateLimit: { limit: 1000, per: '1h' } });

/** Ends at once (its key rows are spent), or waits for a signal (its key rows are live). */
class KeyRowsJob {
  constructor(private readonly acts: KeyRowsActs) {}
  async run(wait: boolean): Promise<number> {
    if (wait) await Stent.waitForSignal('go');
    return this.acts.call(1);
  }
}
defineWorkflow(KeyRowsJob, { name: 'KeyRowsJob' });

const keysOf = async (set: ExecutorSet, table: 'debounces' | 'singletons') =>
  onDatabase(set.db, async (sql, _scalar, t) => ((await sql(`SELECT dispatch_key FROM ${t[table]} ORDER BY dispatch_key`)) as Array<{ dispatch_key: string }>).map((row) => row.dispatch_key));

const flowKeysOf = async (set: ExecutorSet) =>
  onDatabase(set.db, async (sql, _scalar, t) => ((await sql(`SELECT name, flow_key FROM ${t.flowKeys} ORDER BY name, flow_key`)) as Array<{ name: string; flow_key: string }>).map((row) => `${row.name}/${row.flow_key}`));

describe.each(DIALECTS)('retention of key rows on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('removes debounce, singleton and flow-key rows no live work refers to; rows of live work, queued dispatches and open windows stay', async () => {
    set = await ExecutorSet.create(dialect);
    const acts = new KeyRowsActs();
    const executor = await set.executor([acts, new KeyRowsJob(acts)], QUICK_WORKER);

    const debouncedDone = await executor.dispatch(KeyRowsJob, [false], { debounce: { key: 'd-done', delay: '10ms' } });
    await executor.dispatch(KeyRowsJob, [false], { debounce: { key: 'd-later', delay: '1h' } });
    const singletonDone = await executor.dispatch(KeyRowsJob, [false], { singleton: 's-done' });
    const holder = await executor.dispatch(KeyRowsJob, [true], { singleton: 's-held' });
    for (const id of [debouncedDone, singletonDone]) expect((await executor.waitFor(id, { timeout: '30s' })).state).toBe('completed');
    // A singleton whose holder ended but with a dispatch queued behind a live one: its row stays.
    const waiter = await executor.dispatch(KeyRowsJob, [true], { singleton: 's-held' });

    const now = Date.now();
    await onDatabase(set.db, async (sql, _scalar, t) => {
      await sql(
        `INSERT INTO ${t.flowKeys} (name, flow_key, window_start, used, window_end, blocked_until) VALUES
           ('Old.act', 'ended', ?, 3, ?, NULL), ('Old.act', 'parked-before', 0, 0, NULL, ?), ('Old.act', 'parked-now', 0, 0, NULL, ?),
           ('workflow:Old', 'ended', ?, 2, ?, NULL), ('Old.act', 'just-ended', ?, 1, ?, NULL)`,
        [now - 7_200_000, now - 3_600_000, now - 3_600_000, now + 3_600_000, now - 7_200_000, now - 3_600_000, now - 60_000, now - 1_000],
      );
    });
    expect(await flowKeysOf(set)).toEqual(['KeyRowsActs.call/', 'Old.act/ended', 'Old.act/just-ended', 'Old.act/parked-before', 'Old.act/parked-now', 'workflow:Old/ended']);

    const dry = await executor.cleanup({ olderThan: '1h', dryRun: true });
    expect(dry.keyRows).toBe(5);
    expect(await keysOf(set, 'debounces')).toEqual(['d-done', 'd-later']);

    const report = await executor.cleanup({ olderThan: '1h', batchSize: 1 });
    expect(report.keyRows).toBe(5);
    expect(await keysOf(set, 'debounces')).toEqual(['d-later']);
    expect(await keysOf(set, 'singletons')).toEqual(['s-held']);
    // Open windows (the activity's, one that ended within the grace a late claim may still count in) and a park still on stay.
    expect(await flowKeysOf(set)).toEqual(['KeyRowsActs.call/', 'Old.act/just-ended', 'Old.act/parked-now']);

    // The kept rows still work: the queued dispatch gets its turn when the holder ends; then both go.
    await executor.sendSignal(holder, 'go', 1);
    expect((await executor.waitFor(holder, { timeout: '30s' })).state).toBe('completed');
    await executor.sendSignal(waiter, 'go', 1);
    expect((await executor.waitFor(waiter, { timeout: '30s' })).state).toBe('completed');
    expect((await executor.cleanup({ olderThan: '1h' })).keyRows).toBe(1);
    expect(await keysOf(set, 'singletons')).toEqual([]);
    // A new dispatch of a removed key starts afresh.
    const again = await executor.dispatch(KeyRowsJob, [false], { singleton: 's-done' });
    expect((await executor.waitFor(again, { timeout: '30s' })).state).toBe('completed');
  });
});
