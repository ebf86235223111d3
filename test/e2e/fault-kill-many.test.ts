import { afterEach, describe, expect, it } from 'vitest';
import { decode, type WorkerOptions } from 'nestjs-stent/internal';
import { createTestDatabase, type Backend } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { SeqFlow } from '../fixtures/fault-flows.js';
import {
  dispatchMany,
  exactlyOnceProblems,
  killAllProcesses,
  openFaultEnv,
  recordedSteps,
  waitAllCompleted,
  WorkerProcess,
  type FaultEnv,
} from './fault-env.js';

// A lease long enough that a healthy worker starved of CPU for a few seconds (two suites at once on two
// cores) still renews it in time: a lease lost by a live worker makes its bodies run twice, which this test
// allows only in killed processes. Recovery after each kill waits the lease out.
const WORKER: WorkerOptions = { concurrency: 8, lease: '5s', heartbeat: '500ms', pollInterval: '50ms', maxPollInterval: '250ms' };
const STEPS = 3;

const CASES: Array<{ dialect: Backend; processes: number; workflows: number }> = [
  { dialect: 'postgres', processes: 4, workflows: 500 },
  { dialect: 'sqlite', processes: 3, workflows: 150 },
  { dialect: 'sqlite3', processes: 3, workflows: 150 },
];

describe.each(CASES)('kill -9 of workers under load ($dialect, $processes processes, $workflows workflows)', ({ dialect, processes, workflows }) => {
  let env: FaultEnv | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it('every workflow completes, each step has exactly one recorded result, and no completed activity runs again', { timeout: 150_000 }, async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    const workers = await Promise.all(Array.from({ length: processes }, () => env!.startWorker(WORKER)));
    const total = workflows * STEPS;

    // Bodies of 50-150 ms: long enough that a kill lands while some run, and that the work outlasts both kills.
    const ids = await dispatchMany(workflows, () => client.dispatch(SeqFlow, [Array.from({ length: STEPS }, () => 50 + Math.floor(Math.random() * 100))]));

    // Two kills at random moments while work is in flight, each followed by a replacement worker.
    const killed = new Set<number>();
    const replacements: Array<Promise<WorkerProcess>> = [];
    const thresholds = [0.15 + Math.random() * 0.2, 0.45 + Math.random() * 0.2].map((f) => Math.floor(f * total));
    for (const threshold of thresholds) {
      await waitUntil(() => env!.runs().filter((r) => r.end !== undefined).length >= threshold, `${threshold} finished activity bodies`, 60_000);
      // The victim is a worker that is running activity bodies right now.
      const victim = await waitUntil(
        () => {
          const open = new Map<number, number>();
          for (const run of env!.runs()) if (run.end === undefined) open.set(run.pid, (open.get(run.pid) ?? 0) + 1);
          return workers.filter((w) => w.alive && (open.get(w.pid) ?? 0) > 0).sort((a, b) => (open.get(b.pid) ?? 0) - (open.get(a.pid) ?? 0))[0];
        },
        'a worker running an activity',
        30_000,
        5,
      );
      killed.add(victim.pid);
      await victim.kill();
      // Started in the background: a process start can take seconds on a loaded machine.
      replacements.push(WorkerProcess.start(env.spec(WORKER)));
    }
    workers.push(...(await Promise.all(replacements)));

    await waitAllCompleted(inspector, workflows, 60_000, `${workflows} workflows to complete`).catch(async (error: unknown) => {
      const stuck = await inspector.query(
        `SELECT state, lease_owner, lease_expires_at, kind, COUNT(*) AS n FROM ${inspector.t.steps} WHERE state <> 'completed' GROUP BY state, lease_owner, lease_expires_at, kind`,
      );
      const executions = await inspector.query(
        `SELECT state, lease_owner, wake_at, COUNT(*) AS n FROM ${inspector.t.executions} WHERE state <> 'completed' GROUP BY state, lease_owner, wake_at`,
      );
      const alive = workers.filter((w) => w.alive).map((w) => w.pid);
      throw new Error(`${(error as Error).message}\nnow ${Date.now()}, alive workers ${alive.join(', ')}, killed ${[...killed].join(', ')}\nunfinished steps ${JSON.stringify(stuck)}\nunfinished executions ${JSON.stringify(executions)}\nstderr: ${workers.map((w) => `${w.pid}: ${w.stderr.slice(-800)}`).join('\n')}`);
    });

    const runs = env.runs();
    const interruptedRuns = runs.filter((r) => killed.has(r.pid) && r.end === undefined);
    expect(interruptedRuns.length, 'the kills cut running activity bodies').toBeGreaterThan(0);

    // Exactly one journal row per activity, all completed; nothing left claimed or pending.
    const t = inspector.t;
    expect(await inspector.scalar(`SELECT COUNT(*) FROM ${t.steps}`)).toBe(total);
    expect(await inspector.scalar(`SELECT COUNT(*) FROM ${t.steps} WHERE kind = 'activity' AND state = 'completed'`)).toBe(total);
    expect(await inspector.scalar(`SELECT COUNT(DISTINCT execution_id) FROM ${t.steps}`)).toBe(workflows);
    expect(await inspector.scalar(`SELECT COUNT(*) FROM ${t.steps} WHERE lease_owner IS NOT NULL OR lease_expires_at IS NOT NULL`)).toBe(0);
    expect(await inspector.scalar(`SELECT COUNT(*) FROM ${t.executions} WHERE state <> 'completed' OR lease_owner IS NOT NULL`)).toBe(0);
    expect(await inspector.scalar(`SELECT COUNT(*) FROM ${t.deadLetters}`)).toBe(0);

    // Each workflow's value is exactly its recorded step results, in order.
    const steps = await recordedSteps(inspector);
    expect(steps).toHaveLength(total);
    const byExecution = new Map<string, string[]>();
    for (const step of [...steps].sort((a, b) => a.position - b.position)) {
      const list = byExecution.get(step.executionId) ?? [];
      list.push(step.recordedRun);
      byExecution.set(step.executionId, list);
    }
    const results = await inspector.query<{ id: string; result: string }>(`SELECT id, result FROM ${t.executions}`);
    expect(results).toHaveLength(workflows);
    const mismatched = results.filter((row) => JSON.stringify(decode(row.result)) !== JSON.stringify(byExecution.get(row.id)));
    expect(mismatched.map((row) => row.id)).toEqual([]);
    expect(new Set(results.map((r) => r.id))).toEqual(new Set(ids));

    // The outside evidence: every recorded result comes from a body that finished, a step never starts
    // again after its recorded run, and only bodies in killed processes ever ran twice.
    expect(exactlyOnceProblems(steps, runs, killed)).toEqual([]);
    const repeated = runs.length - total;
    expect(repeated).toBeGreaterThanOrEqual(0);
    expect(repeated).toBeLessThanOrEqual(runs.filter((r) => killed.has(r.pid)).length);
  });
});
