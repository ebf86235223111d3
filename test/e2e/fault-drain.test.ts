import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { createTestDatabase } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { BigFlow } from '../fixtures/fault-flows.js';
import { killAllProcesses, openFaultEnv, waitAllCompleted, type FaultEnv } from './fault-env.js';

const WORKER: WorkerOptions = { concurrency: 4, lease: '10s', pollInterval: '50ms', maxPollInterval: '250ms' };
const ROUNDS = 10;
const PER_ROUND = 2;
const RESULT_BYTES = 4 * 1024 * 1024;

describe('graceful drain with results in flight (postgres)', () => {
  let env: FaultEnv | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it(`a worker drained while its activities finish records their ${RESULT_BYTES / 1024 / 1024} MB results: no body runs twice (${ROUNDS} rounds)`, { timeout: 300_000 }, async () => {
    env = await openFaultEnv(await createTestDatabase('postgres'));
    const { client, inspector } = env;
    const ids: string[] = [];
    const drained: number[] = [];
    const dropped: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const worker = await env.startWorker(WORKER);
      const batch = await Promise.all(Array.from({ length: PER_ROUND }, () => client.dispatch(BigFlow, [RESULT_BYTES, 150 + Math.floor(Math.random() * 100)])));
      ids.push(...batch);
      await waitUntil(() => batch.every((id) => env!.runs().some((r) => r.executionId === id && r.pid === worker.pid)), `round ${round}: the activity bodies to start on the worker`, 30_000, 5).catch(async (error: unknown) => {
        const states = await inspector.query(`SELECT id, state, lease_owner, wake_at FROM ${inspector.t.executions}`);
        throw new Error(`${(error as Error).message}; executions ${JSON.stringify(states)}; stderr ${worker.stderr.slice(-2000)}`);
      });
      // SIGTERM while the bodies run: the worker drains (executor.close) and exits.
      const exit = await worker.terminate(60_000);
      expect(exit.code, worker.stderr.slice(-2000)).toBe(0);
      if (worker.stderr.includes('run dropped from this worker')) dropped.push(`round ${round}: ${worker.stderr.slice(-600)}`);
      drained.push(worker.pid);
    }
    // Whatever a drain left behind is finished by another worker (running a body again if a result was lost).
    const finisher = await env.startWorker(WORKER);
    await waitAllCompleted(inspector, ids.length, 60_000, `${ids.length} workflows to complete`);

    const runs = env.runs();
    const perExecution = new Map<string, number>();
    for (const run of runs) perExecution.set(run.executionId, (perExecution.get(run.executionId) ?? 0) + 1);
    const again = ids.filter((id) => perExecution.get(id) !== 1);
    expect(again, 'executions whose activity body ran more than once').toEqual([]);
    expect(dropped, 'drained workers that dropped a run').toEqual([]);
    expect(runs.every((run) => drained.includes(run.pid) && run.end !== undefined)).toBe(true);
    expect(runs.some((run) => run.pid === finisher.pid)).toBe(false);
    // Each workflow's result is its one run's result.
    for (const id of ids) {
      const execution = await client.getExecution(id);
      const run = runs.find((r) => r.executionId === id)!;
      expect(String(execution.result?.value).startsWith(`${run.run} x`)).toBe(true);
    }
  });
});
