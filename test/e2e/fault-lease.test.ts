import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { SeqFlow } from '../fixtures/fault-flows.js';
import { exactlyOnceProblems, killAllProcesses, openFaultEnv, preciseNow, recordedSteps, type FaultEnv } from './fault-env.js';

describe.each(DIALECTS)('leases across processes (%s)', (dialect) => {
  let env: FaultEnv | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it("a dead worker's task is reclaimed by another worker once its lease has expired, not before", async () => {
    const worker: WorkerOptions = { concurrency: 2, lease: '2s', heartbeat: '300ms', pollInterval: '50ms', maxPollInterval: '200ms' };
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    // Both workers are up before the dispatch (starting a process on a loaded machine can take longer than
    // the activity); whichever runs the activity is the one killed.
    const workers = await Promise.all([env.startWorker(worker, { trace: true }), env.startWorker(worker, { trace: true })]);
    const id = await client.dispatch(SeqFlow, [[3000]]);
    const first = await env.explain(
      waitUntil(() => env!.runs().find((r) => r.executionId === id && r.end === undefined), 'the activity to start', 30_000),
      [id],
      workers,
    );
    const doomed = workers.find((w) => w.pid === first.pid)!;
    const survivor = workers.find((w) => w !== doomed)!;
    expect(doomed).toBeDefined();

    // The lease as the doomed worker last renewed it: the survivor may not take the task before this.
    const leaseExpiresAt = await inspector.scalar(`SELECT lease_expires_at FROM ${inspector.t.steps} WHERE execution_id = ? AND position = 0`, [id]);
    expect(Number.isFinite(leaseExpiresAt)).toBe(true);
    const killedAt = preciseNow();
    await doomed.kill();

    const result = await env.explain(client.waitFor<string[]>(id, { timeout: '60s' }), [id], workers);
    expect(result.state).toBe('completed');
    const runs = env.runs().filter((r) => r.executionId === id);
    expect(runs).toHaveLength(2);
    const [cut, rerun] = runs.sort((a, b) => a.start - b.start);
    expect(cut!.pid).toBe(doomed.pid);
    expect(cut!.end).toBeUndefined();
    expect(rerun!.pid).toBe(survivor.pid);
    // Reclaimed after the lease expired, judged on the clock the lease was written with ...
    expect(rerun!.startWall).toBeGreaterThanOrEqual(leaseExpiresAt);
    // ... and not much later: lease + reaper interval + generous slack for a loaded machine.
    expect(rerun!.start - killedAt).toBeLessThan(2_000 + 15_000);
    expect(result.value).toEqual([rerun!.run]);

    const journal = await client.getJournal(id);
    expect(journal).toHaveLength(1);
    expect(journal[0]!.attempts).toBe(2);
    expect(exactlyOnceProblems(await recordedSteps(inspector, [id]), runs, new Set([doomed.pid]))).toEqual([]);
  });

  it('a live worker whose activity outlasts the lease keeps renewing it: no other worker runs it again', async () => {
    // Bodies run 3.5x the lease; only the heartbeat keeps the claims alive.
    const worker: WorkerOptions = { concurrency: 4, lease: '1s', pollInterval: '50ms', maxPollInterval: '200ms' };
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    const workers = await Promise.all([env.startWorker(worker, { trace: true }), env.startWorker(worker, { trace: true })]);
    const ids = await Promise.all(Array.from({ length: 4 }, () => client.dispatch(SeqFlow, [[3500]])));
    for (const id of ids) {
      const result = await env.explain(client.waitFor<string[]>(id, { timeout: '60s' }), ids, workers);
      expect(result.state).toBe('completed');
    }

    const runs = env.runs().filter((r) => ids.includes(r.executionId));
    expect(runs).toHaveLength(ids.length);
    expect(runs.every((r) => r.end !== undefined && r.end - r.start >= 3_400)).toBe(true);
    for (const id of ids) {
      const journal = await client.getJournal(id);
      expect(journal).toHaveLength(1);
      expect(journal[0]!.attempts).toBe(1);
      expect((await client.getExecution(id)).recoveries).toBe(0);
    }
    const recovered = await inspector.scalar(`SELECT COUNT(*) FROM ${inspector.t.steps} WHERE recoveries > 0`);
    expect(recovered).toBe(0);
    expect(exactlyOnceProblems(await recordedSteps(inspector, ids), runs, new Set())).toEqual([]);
    expect(workers.every((w) => w.alive)).toBe(true);
  });
});
