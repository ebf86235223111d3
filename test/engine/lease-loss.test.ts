import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { defineActivity, defineWorkflow, LeaseLostError, Stent, type StentExecutor, type WorkerOptions } from 'nestjs-stent';
import { DIALECTS, POSTGRES_URL } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';
import { openInspector, type Inspector } from '../support/inspector.js';

/** The first attempt waits for its AbortSignal and keeps the reason; later attempts return at once. */
class Watcher {
  readonly reasons: unknown[] = [];
  readonly startedAt: number[] = [];
  async watch(): Promise<string> {
    const { signal, attempt } = Stent.activity();
    this.startedAt.push(Date.now());
    if (attempt > 1) return `attempt ${attempt}`;
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(resolve, 60_000);
      signal.addEventListener('abort', () => {
        clearTimeout(deadline);
        this.reasons.push(signal.reason);
        resolve();
      });
    });
    throw new Error('stopped by its AbortSignal');
  }
}
defineActivity(Watcher, { name: 'LeaseLossWatcher', retry: { maxAttempts: 3, initialDelay: '10ms' } });

class WatchFlow {
  constructor(private readonly watcher: Watcher) {}
  async run(): Promise<string> {
    return this.watcher.watch();
  }
}
defineWorkflow(WatchFlow, { name: 'LeaseLossWatchFlow' });

const WORKER: WorkerOptions = { concurrency: 2, lease: '1500ms', heartbeat: '250ms', pollInterval: '20ms', maxPollInterval: '200ms' };

/**
 * The first attempt ignores its AbortSignal and runs until the test lets it go; the second outlasts
 * several leases, so it finishes as itself only if its lease is renewed.
 */
class Outlaster {
  readonly startedAt: number[] = [];
  readonly aborted: unknown[] = [];
  release!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.release = resolve));
  async work(): Promise<string> {
    const { signal, attempt } = Stent.activity();
    this.startedAt.push(Date.now());
    if (attempt === 1) {
      signal.addEventListener('abort', () => this.aborted.push(signal.reason));
      await this.released;
      throw new Error('the first attempt, let go');
    }
    await new Promise((resolve) => setTimeout(resolve, 3 * 1500));
    return `attempt ${attempt}`;
  }
}
defineActivity(Outlaster, { name: 'LeaseLossOutlaster', retry: { maxAttempts: 5, initialDelay: '10ms' } });

class OutlastFlow {
  constructor(private readonly acts: Outlaster) {}
  async run(): Promise<string> {
    return this.acts.work();
  }
}
defineWorkflow(OutlastFlow, { name: 'LeaseLossOutlastFlow' });

describe.each(DIALECTS)('a worker that lost its lease (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  let inspector: Inspector | undefined;

  afterEach(async () => {
    await inspector?.close();
    await set?.dispose();
    set = inspector = undefined;
  });

  async function start(): Promise<{ executor: StentExecutor; watcher: Watcher; id: string }> {
    set = await ExecutorSet.create(dialect);
    const watcher = new Watcher();
    const executor = await set.executor([watcher, new WatchFlow(watcher)], WORKER);
    inspector = await openInspector(set.db);
    const id = await executor.dispatch(WatchFlow, []);
    await waitUntil(() => watcher.startedAt.length === 1, 'the first attempt to start');
    return { executor, watcher, id };
  }

  it('taken over by another worker: the attempt is aborted with LeaseLostError and the run is dropped', async () => {
    const { executor, watcher, id } = await start();
    expect(executor.worker!.stats().activeWorkflows).toBe(1);
    // Another worker takes the execution and its running step over (what a reclaim after a stall does).
    const { t } = inspector!;
    await inspector!.query(`UPDATE ${t.steps} SET lease_owner = 'another-worker', lease_epoch = lease_epoch + 1 WHERE execution_id = ? AND state = 'running'`, [id]);
    await inspector!.query(`UPDATE ${t.executions} SET lease_owner = 'another-worker', lease_epoch = lease_epoch + 1 WHERE id = ?`, [id]);

    await waitUntil(() => watcher.reasons.length === 1, 'the AbortSignal to fire', 10_000);
    const reason = watcher.reasons[0] as LeaseLostError;
    expect(reason).toBeInstanceOf(LeaseLostError);
    expect(reason).toMatchObject({ code: 'STENT_LEASE_LOST', what: 'step', why: 'taken over' });
    await waitUntil(() => executor.worker!.stats().activeWorkflows === 0, 'the run to be dropped from memory', 10_000);
    expect(set!.logger.lines.some((line) => line.level === 'warn' && line.message.includes(id) && line.message.includes('run dropped') && line.message.includes('taken over'))).toBe(true);
    // Nothing this worker still writes overrides the new owner's lease.
    const [row] = await inspector!.query<{ lease_owner: string; state: string }>(`SELECT lease_owner, state FROM ${t.steps} WHERE execution_id = ?`, [id]);
    expect(row).toMatchObject({ lease_owner: 'another-worker', state: 'running' });
  });

  it('a step given up and later claimed again by the same worker while the given-up body still runs: the lease of the new attempt is renewed', async () => {
    set = await ExecutorSet.create(dialect);
    const acts = new Outlaster();
    try {
      const executor = await set.executor([acts, new OutlastFlow(acts)], WORKER);
      inspector = await openInspector(set.db);
      const id = await executor.dispatch(OutlastFlow, []);
      await waitUntil(() => acts.startedAt.length === 1, 'the first attempt to start');
      const { t } = inspector;
      // Another worker takes the execution and its step over: this one gives the attempt up (its body runs on).
      await inspector.query(`UPDATE ${t.steps} SET lease_owner = 'another-worker', lease_epoch = lease_epoch + 1 WHERE execution_id = ? AND state = 'running'`, [id]);
      await inspector.query(`UPDATE ${t.executions} SET lease_owner = 'another-worker', lease_epoch = lease_epoch + 1 WHERE id = ?`, [id]);
      await waitUntil(() => acts.aborted.length === 1 && executor.worker!.stats().activeWorkflows === 0, 'the attempt and the run to be given up', 10_000);
      // ... and lets go of both without running the step (as a reaper would after it died): this worker takes them back.
      await inspector.query(`UPDATE ${t.steps} SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, available_at = 0 WHERE execution_id = ?`, [id]);
      await inspector.query(`UPDATE ${t.executions} SET lease_owner = NULL, lease_expires_at = NULL, wake_at = 0 WHERE id = ?`, [id]);
      const result = await executor.waitFor<string>(id, { timeout: '30s' });
      expect(result.value).toBe('attempt 2');
      expect(acts.startedAt).toHaveLength(2);
    } finally {
      acts.release();
    }
  });

  if (dialect === 'postgres') {
    it('renewal cannot reach its rows before the lease runs out: the attempt is aborted and the run dropped, then the task goes on', async () => {
      const { executor, watcher, id } = await start();
      // Another session holds the rows, so every renewal skips them (as when the worker is cut off).
      const blocker = new pg.Client({ connectionString: POSTGRES_URL });
      await blocker.connect();
      try {
        const { t } = inspector!;
        await blocker.query('BEGIN');
        const locked = Date.now();
        await blocker.query(`SELECT id FROM ${t.steps} WHERE execution_id = $1 FOR UPDATE`, [id]);
        await blocker.query(`SELECT id FROM ${t.executions} WHERE id = $1 FOR UPDATE`, [id]);
        await waitUntil(() => watcher.reasons.length === 1, 'the AbortSignal to fire', 10_000);
        const reason = watcher.reasons[0] as LeaseLostError;
        expect(reason).toBeInstanceOf(LeaseLostError);
        expect(reason).toMatchObject({ code: 'STENT_LEASE_LOST', what: 'step', why: 'not renewed in time' });
        // Not before the lease (renewed at most one heartbeat before the rows were locked) could run out.
        expect(Date.now() - locked).toBeGreaterThanOrEqual(1500 - 250 - 50);
        await waitUntil(() => executor.worker!.stats().activeWorkflows === 0, 'the run to be dropped from memory', 10_000);
        await blocker.query('ROLLBACK');
      } finally {
        await blocker.end();
      }
      const result = await executor.waitFor<string>(id, { timeout: '30s' });
      expect(result.state).toBe('completed');
      expect(watcher.startedAt.length).toBeGreaterThanOrEqual(2);
    });
  }
});
