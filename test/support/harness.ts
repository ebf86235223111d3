import type { StentExecutor, WorkerOptions } from 'nestjs-stent';
import type { Dialect, TestDatabase } from './databases.js';
import { ExecutorSet } from './executor-set.js';

/** An executor on a fresh database of the given dialect, closed (and the database dropped) by dispose(). */
export interface Harness {
  db: TestDatabase;
  executor: StentExecutor;
  /** Another executor (another "worker") on the same database. */
  spawn(worker?: WorkerOptions | false, ...instances: object[]): Promise<StentExecutor>;
  dispose(): Promise<void>;
}

export const FAST_WORKER: WorkerOptions = { concurrency: 8, pollInterval: '20ms', maxPollInterval: '200ms', lease: '5s', suspendAfter: '300ms' };

/** FAST_WORKER keeping no suspended run in memory: every wake replays the journal (for tests of replay). */
export const REPLAYING_WORKER: WorkerOptions = { ...FAST_WORKER, keepSuspended: 0 };

export async function createHarness(dialect: Dialect, instances: object[], worker: WorkerOptions | false = FAST_WORKER): Promise<Harness> {
  const set = await ExecutorSet.create(dialect);
  const spawn = (options: WorkerOptions | false = FAST_WORKER, ...extra: object[]) => set.executor(extra.length ? extra : instances, options);
  return { db: set.db, executor: await spawn(worker, ...instances), spawn, dispose: () => set.dispose() };
}
