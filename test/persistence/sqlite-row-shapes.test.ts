import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow } from 'nestjs-stent';
import { SeqFlow } from '../fixtures/fault-flows.js';
import { killAllProcesses } from '../support/child-process.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { WorkerProcess } from '../support/worker-process.js';

/**
 * better-sqlite3 rows are read as arrays and made into objects by a function written per statement for
 * its columns (SqliteRowShapes). What the store reads must be the same as the driver's own objects gave:
 * the values of a run's steps, and, when SQLite prepares a cached statement again with other columns
 * (a `SELECT *` after another process changed the table), the values under their own names. Where
 * Node.js makes no code from strings (--disallow-code-generation-from-strings), rows are built key by key.
 */

class ShapeActs {
  async echo(value: { text: string; n: number; nested: number[] }): Promise<{ text: string; n: number; nested: number[] }> {
    return { ...value, n: value.n + 1 };
  }
}
defineActivity(ShapeActs);

class ShapeFlow {
  constructor(private readonly acts: ShapeActs) {}
  async run(count: number): Promise<number[]> {
    const results = await Promise.all(Array.from({ length: count }, (_, i) => this.acts.echo({ text: `item-${i}`, n: i, nested: [i, i * 2] })));
    return results.map((result, i) => {
      if (result.text !== `item-${i}` || result.nested[1] !== i * 2) throw new Error(`step ${i} came back as ${JSON.stringify(result)}`);
      return result.n;
    });
  }
}
defineWorkflow(ShapeFlow);

describe('rows of better-sqlite3 statements', () => {
  let set: ExecutorSet | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await killAllProcesses();
    await set?.dispose();
    set = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('a fan-out claimed, run and read back through array rows gives every step its own values', async () => {
    set = await ExecutorSet.create('sqlite');
    const acts = new ShapeActs();
    const executor = await set.executor([acts, new ShapeFlow(acts)], { concurrency: 4, pollInterval: '20ms', maxPollInterval: '200ms', lease: '10s' });
    const id = await executor.dispatch(ShapeFlow, [40]);
    const outcome = await executor.waitFor<number[]>(id, { timeout: '60s' });
    expect(outcome).toMatchObject({ ok: true, value: Array.from({ length: 40 }, (_, i) => i + 1) });
    const journal = await executor.getJournal(id);
    expect(journal).toHaveLength(40);
    journal.forEach((entry, i) => {
      expect(entry).toMatchObject({ position: i, kind: 'activity', name: 'ShapeActs.echo', state: 'completed', attempts: 1 });
      expect(entry.args).toEqual([{ text: `item-${i}`, n: i, nested: [i, i * 2] }]);
      expect(entry.result).toEqual({ text: `item-${i}`, n: i + 1, nested: [i, i * 2] });
    });
  });

  it('a cached SELECT * read again after another connection dropped a column keeps each value under its name', async () => {
    set = await ExecutorSet.create('sqlite');
    const executor = await set.executor([], { concurrency: 1, pollInterval: '20ms', maxPollInterval: '200ms', lease: '10s' });
    const reader = await set.executor([], false);
    const before = (await reader.listWorkers()).find((worker) => worker.id === executor.worker!.ownerId);
    expect(before).toMatchObject({ hostname: hostname(), pid: process.pid, state: 'running' });

    // Another process's migration rebuilds the table without `hostname`: every column after it moves one place left.
    const other = new Database(String((set.db.options as { database: string }).database));
    try {
      other.exec('ALTER TABLE stent_workers DROP COLUMN hostname');
    } finally {
      other.close();
    }

    const after = (await reader.listWorkers()).find((worker) => worker.id === executor.worker!.ownerId);
    expect(after).toMatchObject({ pid: process.pid, state: 'running', concurrency: 1 });
    // Read by the shape written before the change, `hostname` would have held the pid.
    expect(after!.hostname).not.toBe(String(process.pid));
  });

  it('a worker process that may not make code from strings claims, runs and reads back its steps', async () => {
    set = await ExecutorSet.create('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'stent-row-shapes-'));
    const client = await set.executor([], false);
    await WorkerProcess.start({
      url: set.db.url,
      worker: QUICK_WORKER,
      fixture: 'fault-flows.js',
      instances: 'faultInstances',
      evidenceDir: dir,
      env: { NODE_OPTIONS: '--disallow-code-generation-from-strings' },
    });
    const ids = await Promise.all(Array.from({ length: 4 }, (_, i) => client.dispatch(SeqFlow, [[i, 1, 0]])));
    for (const id of ids) {
      const outcome = await client.waitFor<string[]>(id, { timeout: '60s' });
      expect(outcome.state).toBe('completed');
      expect(outcome.value).toHaveLength(3);
      expect((await client.getJournal(id)).map((entry) => entry.state)).toEqual(['completed', 'completed', 'completed']);
    }
  });
});
