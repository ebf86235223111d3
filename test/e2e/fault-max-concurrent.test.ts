import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, type Dialect } from '../support/databases.js';
import { LimitedFlow } from '../fixtures/fault-flows.js';
import { dispatchMany, killAllProcesses, maxOverlap, openFaultEnv, waitAllCompleted, type FaultEnv } from './fault-env.js';

// Nothing is killed here, so the lease only has to outlast a stall: at load 27 on 2 cores a 5 s lease ran
// out under a starved worker and three tasks ran twice (a correct take-over, but not what this test counts).
const WORKER: WorkerOptions = { lease: '30s', pollInterval: '30ms', maxPollInterval: '150ms' };
const SLEEP_MS = 25;

// On SQLite a process that just finished a task claims the next one at once while the others only poll,
// so one process could take every slot; one slot per process there forces the two running bodies to
// live in different processes (the cap must hold across processes, not just inside one).
const CASES: Array<{ dialect: Dialect; processes: number; tasks: number; concurrency: number }> = [
  { dialect: 'postgres', processes: 8, tasks: 300, concurrency: 4 },
  { dialect: 'sqlite', processes: 4, tasks: 120, concurrency: 1 },
];

describe.each(CASES)('maxConcurrent across processes ($dialect, $processes processes, $tasks tasks)', ({ dialect, processes, tasks, concurrency }) => {
  let env: FaultEnv | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it('an activity with maxConcurrent: 2 never has more than 2 bodies running at any instant, cluster-wide', async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    await Promise.all(Array.from({ length: processes }, () => env!.startWorker({ ...WORKER, concurrency })));

    await dispatchMany(tasks, (i) => client.dispatch(LimitedFlow, [i, SLEEP_MS]));
    await waitAllCompleted(inspector, tasks, 150_000, `${tasks} limited tasks to complete`);

    const runs = env.runs().filter((r) => r.act === 'limited');
    expect(runs).toHaveLength(tasks);
    expect(runs.every((r) => r.end !== undefined)).toBe(true);
    // On the machine's monotonic clock, one for all processes (see RunRecord.m).
    const overlap = maxOverlap(runs.map((r) => ({ start: r.startM, end: r.endM! })));
    const atPeak = runs.filter((r) => r.startM <= overlap.at && r.endM! > overlap.at);
    const peak = atPeak.map((r) => `pid ${r.pid} ${r.executionId.slice(0, 8)} attempt ${r.attempt} [${(r.startM - overlap.at).toFixed(1)}, +${(r.endM! - overlap.at).toFixed(1)}] ms`);
    expect(overlap.max, `${overlap.max} bodies running at once: ${peak.join('; ')}`).toBeLessThanOrEqual(2);
    // The cap was actually reached (the test measures something) and the work was spread over processes.
    expect(overlap.max).toBe(2);
    expect(new Set(runs.map((r) => r.pid)).size).toBeGreaterThan(1);
    expect(await inspector.scalar(`SELECT COUNT(*) FROM ${inspector.t.steps} WHERE state <> 'completed' OR lease_owner IS NOT NULL`)).toBe(0);
  });
});
