import { createStentStore, StentExecutor, type WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, type Dialect, type TestDatabase } from './databases.js';

/** An executor on a fresh database of the given dialect, closed (and the database dropped) by dispose(). */
export interface Harness {
  db: TestDatabase;
  executor: StentExecutor;
  /** Another executor (another "worker") on the same database. */
  spawn(worker?: WorkerOptions | false, ...instances: object[]): Promise<StentExecutor>;
  dispose(): Promise<void>;
}

export const FAST_WORKER: WorkerOptions = { concurrency: 8, pollInterval: '20ms', maxPollInterval: '200ms', lease: '5s', suspendAfter: '300ms' };

export async function createHarness(dialect: Dialect, instances: object[], worker: WorkerOptions | false = FAST_WORKER): Promise<Harness> {
  const db = await createTestDatabase(dialect);
  const executors: StentExecutor[] = [];
  const spawn = async (options: WorkerOptions | false = FAST_WORKER, ...extra: object[]) => {
    const store = await createStentStore({ database: db.options });
    const executor = new StentExecutor({ store, worker: options });
    executor.register(...(extra.length ? extra : instances));
    await executor.start();
    executors.push(executor);
    return executor;
  };
  const executor = await spawn(worker, ...instances);
  return {
    db,
    executor,
    spawn,
    dispose: async () => {
      for (const e of executors.reverse()) await e.close(0).catch(() => undefined);
      await db.dispose();
    },
  };
}
