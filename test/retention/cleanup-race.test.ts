import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionState } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { onDatabase } from '../support/table-rows.js';
import { waitUntil } from '../support/wait.js';
import { retentionInstances, Shipment } from '../fixtures/retention-flows.js';

describe.each(DIALECTS)('cleanup racing live workers on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('loses nothing: every execution finishes, only finished trees go, no row is left without its execution', async () => {
    set = await ExecutorSet.create(dialect);
    const workers = [await set.executor(retentionInstances(), QUICK_WORKER), await set.executor(retentionInstances(), QUICK_WORKER)];
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
