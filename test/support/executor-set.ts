import { createStentStore, StentExecutor, type Clock, type StentLogger, type WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, type Backend, type TestDatabase } from './databases.js';

/** Worker settings that keep tests quick: short polls. */
export const QUICK_WORKER: WorkerOptions = { concurrency: 8, pollInterval: '20ms', maxPollInterval: '200ms', lease: '10s' };

/** Short polls, a shorter lease, and workflows suspended after 300 ms idle (so tests see replays). */
export const FAST_WORKER: WorkerOptions = { concurrency: 8, pollInterval: '20ms', maxPollInterval: '200ms', lease: '5s', suspendAfter: '300ms' };

/** FAST_WORKER keeping no suspended run in memory: every wake replays the journal (for tests of replay). */
export const REPLAYING_WORKER: WorkerOptions = { ...FAST_WORKER, keepSuspended: 0 };

/** Collects log lines instead of printing them (tests may inspect them). */
export class MemoryLogger implements StentLogger {
  readonly lines: Array<{ level: string; message: string }> = [];
  log(message: string): void {
    this.lines.push({ level: 'log', message });
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message });
  }
  error(message: string): void {
    this.lines.push({ level: 'error', message });
  }
}

/** A promise the test resolves by hand, counting how many callers reached it. */
export class Gate<T = void> {
  readonly promise: Promise<T>;
  entered = 0;
  private release!: (value: T) => void;
  constructor() {
    this.promise = new Promise<T>((resolve) => (this.release = resolve));
  }
  /** Awaited by the code under test. */
  wait(): Promise<T> {
    this.entered++;
    return this.promise;
  }
  open(value: T): void {
    this.release(value);
  }
}

/**
 * One test's world: its own database and the executors opened on it, all closed at the end.
 */
export class ExecutorSet {
  private readonly executors: StentExecutor[] = [];
  private readonly cleanups: Array<() => void | Promise<void>> = [];
  readonly logger = new MemoryLogger();

  private constructor(readonly db: TestDatabase) {}

  static async create(backend: Backend): Promise<ExecutorSet> {
    return new ExecutorSet(await createTestDatabase(backend));
  }

  /**
   * An executor on this test's database with `instances` registered; started unless start is false; on
   * `clock` when given (a ManualClock, for tests of time).
   */
  async executor(instances: object[], worker: WorkerOptions | false = QUICK_WORKER, start = true, clock?: Clock): Promise<StentExecutor> {
    const store = await createStentStore({ database: this.db.options });
    let executor: StentExecutor;
    try {
      executor = new StentExecutor({ store, worker, logger: this.logger, clock });
    } catch (error) {
      // Options refused: the store is still this set's to close.
      await store.close();
      throw error;
    }
    this.executors.push(executor);
    executor.register(...instances);
    if (start) await executor.start();
    else await executor.migrate();
    return executor;
  }

  onCleanup(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn);
  }

  async dispose(): Promise<void> {
    for (const fn of this.cleanups.reverse()) await fn();
    const failedCloses: string[] = [];
    for (const executor of this.executors.reverse()) {
      try {
        await executor.close('2s');
      } catch (error) {
        // Most often already closed by the test; kept to explain a file left open.
        failedCloses.push(String(error));
      }
    }
    await this.db.dispose().catch((error: unknown) => {
      throw new Error(`${(error as Error).message}${failedCloses.length > 0 ? `; executor.close() failed with: ${failedCloses.join('; ')}` : ''}`);
    });
  }
}

/** An executor on a fresh database of the given dialect, closed (and the database dropped) by dispose(). */
export interface Harness {
  db: TestDatabase;
  executor: StentExecutor;
  /** Another executor (another "worker") on the same database. */
  spawn(worker?: WorkerOptions | false, ...instances: object[]): Promise<StentExecutor>;
  dispose(): Promise<void>;
}

/** The common case of an ExecutorSet: one started executor with `instances`, more on demand. */
export async function createHarness(backend: Backend, instances: object[], worker: WorkerOptions | false = FAST_WORKER): Promise<Harness> {
  const set = await ExecutorSet.create(backend);
  const spawn = (options: WorkerOptions | false = FAST_WORKER, ...extra: object[]) => set.executor(extra.length ? extra : instances, options);
  return { db: set.db, executor: await spawn(worker, ...instances), spawn, dispose: () => set.dispose() };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** Same for a function that should throw synchronously or reject. */
export async function errorOf(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw, but it returned');
}

/** A dispatch-only executor in the test process (the workers run elsewhere, often in other processes). */
export async function openClient(db: TestDatabase): Promise<StentExecutor> {
  const store = await createStentStore({ database: db.options });
  const executor = new StentExecutor({ store, worker: false });
  await executor.start();
  return executor;
}
