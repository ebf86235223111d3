import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { createTestDatabase } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { SeqFlow } from '../fixtures/fault-flows.js';
import { killAllProcesses, openFaultEnv, WorkerProcess, type FaultEnv } from './fault-env.js';

/** Debian's libfaketime (package faketime): preloaded, it shifts a process's system clock. */
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const SKEW_MS = 5_000;
const WORKER: WorkerOptions = { concurrency: 2, lease: '3s', heartbeat: '1s', pollInterval: '50ms', maxPollInterval: '250ms' };
const BODY_MS = 6_000;

describe('clock skew between workers (postgres)', () => {
  let env: FaultEnv | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it(`a worker whose clock runs ${SKEW_MS / 1000} s ahead does not reap a live ${BODY_MS / 1000} s activity of another (lease 3 s, heartbeat 1 s)`, { timeout: 90_000 }, async () => {
    expect(existsSync(LIBFAKETIME), `${LIBFAKETIME} is missing: apt-get install faketime`).toBe(true);
    env = await openFaultEnv(await createTestDatabase('postgres'));
    const { client, inspector } = env;
    const honest = await env.startWorker(WORKER);
    const id = await client.dispatch(SeqFlow, [[BODY_MS]]);
    const run = await waitUntil(() => env!.runs().find((r) => r.executionId === id), 'the activity to start', 30_000);
    expect(run.pid).toBe(honest.pid);

    // A second worker whose system clock (and so its engine clock) runs ahead.
    const ahead = await WorkerProcess.start(env.spec(WORKER, { env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: `+${SKEW_MS / 1000}s`, FAKETIME_DONT_FAKE_MONOTONIC: '1' } }));
    const schema = env.db.schema!;
    const skew = await waitUntil(async () => {
      const [row] = await inspector.query<{ heartbeat_at: unknown }>(`SELECT heartbeat_at FROM "${schema}".stent_workers WHERE pid = ?`, [ahead.pid]);
      return row ? Number(row.heartbeat_at) - Date.now() : undefined;
    }, 'the skewed worker to record itself');
    expect(skew, 'the second worker really runs ahead').toBeGreaterThan(SKEW_MS - 1_000);

    const result = await client.waitFor<string[]>(id, { timeout: '60s' });
    expect(result.state).toBe('completed');
    expect(result.value).toEqual([run.run]);
    // Never reaped: one body, one attempt, no recovery, nothing dead-lettered.
    const runs = env.runs().filter((r) => r.executionId === id);
    expect(runs.map((r) => r.pid)).toEqual([honest.pid]);
    const [step] = await inspector.query<{ attempts: unknown; recoveries: unknown }>(`SELECT attempts, recoveries FROM ${inspector.t.steps} WHERE execution_id = ?`, [id]);
    expect({ attempts: Number(step!.attempts), recoveries: Number(step!.recoveries) }).toEqual({ attempts: 1, recoveries: 0 });
    const [execution] = await inspector.query<{ recoveries: unknown }>(`SELECT recoveries FROM ${inspector.t.executions} WHERE id = ?`, [id]);
    expect(Number(execution!.recoveries)).toBe(0);
    expect(await inspector.scalar(`SELECT COUNT(*) FROM ${inspector.t.deadLetters}`)).toBe(0);
    expect(ahead.stderr).not.toContain('Reclaimed');
    expect(honest.alive && ahead.alive).toBe(true);
  });
});
