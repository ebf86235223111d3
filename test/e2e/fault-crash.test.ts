import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { BACKENDS, createTestDatabase } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { SeqFlow } from '../fixtures/fault-flows.js';
import { exactlyOnceProblems, killAllProcesses, openFaultEnv, recordedSteps, type FaultEnv } from './fault-env.js';

const WORKER: WorkerOptions = { concurrency: 4, lease: '2s', heartbeat: '300ms', pollInterval: '50ms', maxPollInterval: '200ms' };

describe.each(BACKENDS)('kill -9 of the worker in the middle of a workflow (%s)', (backend) => {
  let env: FaultEnv | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it('a second process finishes it: activities 1, 2, 4, 5 ran once, activity 3 at most twice, 5 journal rows', async () => {
    env = await openFaultEnv(await createTestDatabase(backend));
    const { client } = env;
    const first = await env.startWorker(WORKER);

    // Activity 3 is slow, so the kill lands while its body runs.
    const id = await client.dispatch(SeqFlow, [[30, 30, 2500, 30, 30]]);
    const running3 = await waitUntil(
      () => env!.runs().find((r) => r.executionId === id && r.position === 2 && r.end === undefined),
      'activity 3 to start in the first worker',
      30_000,
    );
    expect(running3.pid).toBe(first.pid);
    await first.kill();
    expect(first.exitInfo?.signal).toBe('SIGKILL');

    const second = await env.startWorker(WORKER);
    const result = await env.explain(client.waitFor<string[]>(id, { timeout: '60s' }), [id], [first, second]);
    expect(result.state).toBe('completed');
    expect(result.ok).toBe(true);

    const runs = env.runs().filter((r) => r.executionId === id);
    const ofStep = (index: number) => runs.filter((r) => r.position === index - 1);
    for (const index of [1, 2, 4, 5]) expect(ofStep(index), `runs of activity ${index}`).toHaveLength(1);
    expect(ofStep(1)[0]!.pid).toBe(first.pid);
    expect(ofStep(2)[0]!.pid).toBe(first.pid);
    expect(ofStep(4)[0]!.pid).toBe(second.pid);
    expect(ofStep(5)[0]!.pid).toBe(second.pid);
    const third = ofStep(3);
    expect(third.length).toBeGreaterThanOrEqual(1);
    expect(third.length).toBeLessThanOrEqual(2);
    expect(third.some((r) => r.end !== undefined)).toBe(true);

    const journal = await client.getJournal(id);
    expect(journal).toHaveLength(5);
    expect(journal.map((s) => [s.position, s.kind, s.name, s.state])).toEqual(
      [0, 1, 2, 3, 4].map((p) => [p, 'activity', 'FaultActs.step', 'completed']),
    );
    // The workflow's value is exactly the recorded results, in order.
    expect(result.value).toEqual(journal.map((s) => s.result));
    const execution = await client.getExecution(id);
    expect(execution.state).toBe('completed');
    expect(execution.leaseOwner).toBeNull();

    // The recorded run of each step finished its body, and no step ran again after its recorded run.
    const steps = await recordedSteps(env.inspector, [id]);
    expect(exactlyOnceProblems(steps, runs, new Set([first.pid]))).toEqual([]);
  });
});
