import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, StentExecutor, type WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { killAllProcesses, WorkerProcess } from '../support/worker-process.js';

const WORKER: WorkerOptions = { concurrency: 4, lease: '3s', heartbeat: '500ms', pollInterval: '50ms', maxPollInterval: '200ms', suspendAfter: '200ms', keepSuspended: 0 };

const startWorker = (url: string, role: 'v1' | 'v2') => WorkerProcess.start({ url, worker: WORKER, fixture: 'versioned-flows.js', instances: 'versionedInstances', role });

describe('worker processes of two workflow versions on one PostgreSQL database', () => {
  let db: TestDatabase | undefined;
  let client: StentExecutor | undefined;
  afterEach(async () => {
    await killAllProcesses();
    await client?.close('1s').catch(() => {});
    await db?.dispose();
  });

  it('each takes only the executions it can replay, and every execution completes on its own version', async () => {
    db = await createTestDatabase('postgres');
    // Dispatches by name: only the worker processes have the code.
    client = new StentExecutor({ store: await createStentStore({ database: db.options }), worker: false, workflowsFromWorkers: true });
    await client.start();
    const waitingOnSignal = async (ids: string[]) => {
      for (const id of ids) await waitUntil(async () => (await client!.getJournal(id)).some((step) => step.kind === 'signal'), `${id} waits for its signal`, 60_000);
    };

    // v1 alone starts three executions, then stops (its runs are handed back to the database).
    let v1 = await startWorker(db.url, 'v1');
    const v1Ids = [await client.dispatch('VersionedFlow', [1]), await client.dispatch('VersionedFlow', [2]), await client.dispatch('VersionedFlow', [3])];
    await waitingOnSignal(v1Ids);
    await v1.terminate();
    // v2 alone starts three more; then v1 comes back and both share the database.
    const v2 = await startWorker(db.url, 'v2');
    const v2Ids = [await client.dispatch('VersionedFlow', [4]), await client.dispatch('VersionedFlow', [5]), await client.dispatch('VersionedFlow', [6])];
    await waitingOnSignal(v2Ids);
    v1 = await startWorker(db.url, 'v1');

    for (const id of [...v1Ids, ...v2Ids]) await client.sendSignal(id, 'go');
    const outcomes = await Promise.all([...v1Ids, ...v2Ids].map(async (id) => {
      const result = await client!.waitFor(id, { timeout: '60s' });
      return { state: result.state, value: result.value, error: result.error?.message, version: (await client!.getExecution(id)).version };
    }));
    expect(outcomes).toEqual([
      ...[1, 2, 3].map((n) => ({ state: 'completed', value: `v1:${n}`, error: undefined, version: 1 })),
      ...[4, 5, 6].map((n) => ({ state: 'completed', value: `v2:${n}`, error: undefined, version: 2 })),
    ]);
    expect(v1.alive && v2.alive).toBe(true);
  });
});
