/**
 * Two Stent deployments in two schemas of one PostgreSQL database, each with the fault fixture's activity
 * capped cluster-wide (LimitedActs.limited, maxConcurrent 2). A claim of a capped activity holds a lock
 * for the activity; PostgreSQL's advisory locks belong to the whole database, so unless the lock is the
 * schema's own, a worker of one deployment that stops while it holds it (a SIGSTOP, a VM paused, a process
 * swapped out) stops every capped claim of the other deployment too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { workerApplicationName } from '../support/backend-names.js';
import { createTestDatabase } from '../support/databases.js';
import type { Inspector } from '../support/inspector.js';
import { LimitedFlow } from '../fixtures/fault-flows.js';
import { killAllProcesses, openFaultEnv, type FaultEnv, type WorkerProcess } from './fault-env.js';

describe('capped claims in two schemas of one database (postgres)', () => {
  const envs: FaultEnv[] = [];

  afterEach(async () => {
    await killAllProcesses();
    await Promise.all(envs.splice(0).map((env) => env.dispose()));
  });

  it("a worker stopped inside a capped claim of one schema does not hold up the other schema's capped claims", async () => {
    const stoppedSide = await openFaultEnv(await createTestDatabase('postgres'));
    envs.push(stoppedSide);
    const otherSide = await openFaultEnv(await createTestDatabase('postgres'));
    envs.push(otherSide);

    // Idle, it claims round after round without pause, each capped claim under the activity's lock.
    const stopped = await stoppedSide.startWorker({ concurrency: 2, lease: '30s', pollInterval: '1ms', maxPollInterval: '1ms' });
    await stopWhileHoldingAdvisoryLock(stopped, stoppedSide.inspector);

    const other = await otherSide.startWorker({ concurrency: 2, lease: '30s', pollInterval: '50ms', maxPollInterval: '200ms' });
    const id = await otherSide.client.dispatch(LimitedFlow, [1, 10]);
    const result = await otherSide.explain(otherSide.client.waitFor<string>(id, { timeout: '30s' }), [id], [other]);
    expect(result.state).toBe('completed');
    // The stopped worker still holds its lock: the claims above did not wait for it.
    expect(await advisoryLocksOf(stopped, stoppedSide.inspector)).toBeGreaterThan(0);
  });
});

/** Advisory locks granted to the process's connections. */
async function advisoryLocksOf(worker: WorkerProcess, inspector: Inspector): Promise<number> {
  return inspector.scalar(
    `SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = ?`,
    [workerApplicationName(worker.pid)],
  );
}

/** SIGSTOPs the worker at a moment one of its transactions holds an advisory lock (it stays stopped). */
async function stopWhileHoldingAdvisoryLock(worker: WorkerProcess, inspector: Inspector): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    worker.signal('SIGSTOP');
    // A statement sent just before the stop still runs to its end on the server.
    await new Promise((resolve) => setTimeout(resolve, 30));
    if ((await advisoryLocksOf(worker, inspector)) > 0) return;
    worker.signal('SIGCONT');
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
  }
  throw new Error(`worker ${worker.pid} was never seen holding an advisory lock`);
}
