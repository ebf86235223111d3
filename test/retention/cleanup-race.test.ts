import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionState } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { onDatabase } from '../support/table-rows.js';
import { waitUntil } from '../support/wait.js';
import { Backorder, retentionInstances, Shipment } from '../fixtures/retention-flows.js';

// Nothing here crashes, so no lease needs to run out: a long one keeps a heartbeat delayed by a loaded
// machine (the cleaner holds the database in a tight loop) from handing work over, which would log a
// warning this test counts as a problem.
const WORKER = { ...QUICK_WORKER, lease: '60s' };

describe.each(DIALECTS)('cleanup racing live workers on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('loses nothing: every execution finishes, only finished trees go, no row is left without its execution', async () => {
    set = await ExecutorSet.create(dialect);
    const workers = [await set.executor(retentionInstances(), WORKER), await set.executor(retentionInstances(), WORKER)];
    const finished = new Map<string, ExecutionState>();
    for (const worker of workers) worker.events.on('execution.finished', ({ executionId, state }) => finished.set(executionId, state));
    const dispatched: string[] = [];
    let removed = 0;
    let cleaning = true;
    const cleaner = (async () => {
      while (cleaning) {
        removed += (await workers[0]!.cleanup({ olderThan: 0, batchSize: 2 })).executions;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    for (let wave = 0; wave < 6; wave++) {
      for (let i = 0; i < 5; i++) dispatched.push(await workers[i % 2]!.dispatch(Shipment, [[`w${wave}-${i}-a`, `w${wave}-${i}-b`]]));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await waitUntil(() => dispatched.every((id) => finished.has(id)), 'every dispatched shipment to finish', 60_000);
    cleaning = false;
    await cleaner;
    expect(dispatched.map((id) => finished.get(id))).toEqual(dispatched.map(() => 'completed'));
    removed += (await workers[0]!.cleanup({ olderThan: 0 })).executions;
    // Each shipment and its two children.
    expect(removed).toBe(dispatched.length * 3);
    const left = await onDatabase(set.db, async (_sql, scalar, t) => ({
      executions: await scalar(`SELECT COUNT(*) FROM ${t.executions}`),
      steps: await scalar(`SELECT COUNT(*) FROM ${t.steps}`),
      signals: await scalar(`SELECT COUNT(*) FROM ${t.signals}`),
      deadLetters: await scalar(`SELECT COUNT(*) FROM ${t.deadLetters}`),
    }));
    expect(left).toEqual({ executions: 0, steps: 0, signals: 0, deadLetters: 0 });
    expect(set.logger.lines.filter((line) => line.level !== 'log')).toEqual([]);
  });
});

describe.each(DIALECTS)('cleanup racing dead-letter replays on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('a tree is either removed whole or revived whole, never half of each', async () => {
    set = await ExecutorSet.create(dialect);
    const executor = await set.executor(retentionInstances(), WORKER);
    const failed: string[] = [];
    for (let i = 0; i < 12; i++) failed.push(await executor.dispatch(Backorder, [`sku-${i}`]));
    for (const id of failed) expect((await executor.waitFor(id, { timeout: '30s' })).state).toBe('failed');
    const letters = (await executor.listDeadLetters({ limit: 100 })).items;
    expect(letters).toHaveLength(12);
    const replays = letters.map((letter) =>
      executor.dlq.replay(letter.id).then(
        () => 'replayed',
        (error: Error & { code?: string }) => error.code,
      ),
    );
    const cleanups = [executor.cleanup({ olderThan: 0, states: ['failed'], batchSize: 2 }), executor.cleanup({ olderThan: 0, states: ['failed'], batchSize: 5 })];
    const outcomes = await Promise.all(replays);
    await Promise.all(cleanups);
    // A replay that lost the race found its dead letter or execution gone; nothing else may go wrong.
    for (const outcome of outcomes) expect(['replayed', 'STENT_DEAD_LETTER_NOT_FOUND', 'STENT_EXECUTION_NOT_FOUND']).toContain(outcome);
    for (const [index, id] of failed.entries()) {
      const rows = await onDatabase(set.db, async (_sql, scalar, t) => ({
        executions: await scalar(`SELECT COUNT(*) FROM ${t.executions} WHERE id = ?`, [id]),
        steps: await scalar(`SELECT COUNT(*) FROM ${t.steps} WHERE execution_id = ?`, [id]),
      }));
      if (rows.executions === 0) expect(rows.steps, `${id}: steps left without their execution`).toBe(0);
      else {
        expect(rows.steps, `${id}: an execution left without its journal`).toBeGreaterThan(0);
        // Revived (it fails again: the stock is still refused) or never touched.
        expect((await executor.waitFor(id, { timeout: '30s' })).state).toBe('failed');
      }
      if (outcomes[index] === 'replayed' && rows.executions === 1) expect((await executor.getJournal(id)).length).toBeGreaterThan(0);
    }
    const orphans = await onDatabase(set.db, async (_sql, scalar, t) => ({
      steps: await scalar(`SELECT COUNT(*) FROM ${t.steps} s WHERE NOT EXISTS (SELECT 1 FROM ${t.executions} e WHERE e.id = s.execution_id)`),
      deadLetters: await scalar(`SELECT COUNT(*) FROM ${t.deadLetters} d WHERE NOT EXISTS (SELECT 1 FROM ${t.executions} e WHERE e.id = d.execution_id)`),
    }));
    expect(orphans).toEqual({ steps: 0, deadLetters: 0 });
  });
});
