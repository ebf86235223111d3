import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, type Dialect } from '../support/databases.js';
import { RatedFlow } from '../fixtures/flow-limit-flows.js';
import { dispatchMany, killAllProcesses, openFaultEnv, waitAllCompleted, WorkerProcess, type FaultEnv } from './fault-env.js';

const WORKER: WorkerOptions = { lease: '30s', pollInterval: '30ms', maxPollInterval: '150ms', concurrency: 4 };
const FLOW_FIXTURE = { fixture: 'flow-limit-flows.js', instances: 'flowLimitInstances' };
const TENANTS = ['acme', 'globex'];
const LIMIT = 3;
const WINDOW_MS = 1000;

const CASES: Array<{ dialect: Dialect; processes: number }> = [
  { dialect: 'postgres', processes: 4 },
  { dialect: 'sqlite', processes: 3 },
];

describe.each(CASES)('rate limits across processes ($dialect, $processes processes)', ({ dialect, processes }) => {
  let env: FaultEnv | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it('no fixed 1-second window of a key starts more than its limit (3) of attempts', async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    await Promise.all(Array.from({ length: processes }, () => WorkerProcess.start(env!.spec(WORKER, FLOW_FIXTURE))));
    const perTenant = 12;
    const tasks = perTenant * TENANTS.length;
    await dispatchMany(tasks, (i) => client.dispatch(RatedFlow, [TENANTS[i % TENANTS.length]!, i]));
    await waitAllCompleted(inspector, tasks, 120_000, `${tasks} rate-limited tasks to complete`);

    // The window an attempt counts in is the one its claim took it in: the step's started_at.
    const rows = await inspector.query<{ rate_key: string; started_at: unknown; attempts: unknown }>(
      `SELECT rate_key, started_at, attempts FROM ${inspector.t.steps} WHERE kind = 'activity'`,
    );
    expect(rows).toHaveLength(tasks);
    expect(rows.every((row) => Number(row.attempts) === 1)).toBe(true);
    for (const tenant of TENANTS) {
      const perWindow = new Map<number, number>();
      for (const row of rows.filter((r) => r.rate_key === tenant)) {
        const window = Math.floor(Number(row.started_at) / WINDOW_MS);
        perWindow.set(window, (perWindow.get(window) ?? 0) + 1);
      }
      const counts = [...perWindow.values()];
      expect(Math.max(...counts), `${tenant}: starts per window ${JSON.stringify([...perWindow])}`).toBe(LIMIT);
      // 12 starts at 3 a window take at least 4 windows.
      expect(perWindow.size).toBeGreaterThanOrEqual(perTenant / LIMIT);
    }
    const runs = env.runs().filter((r) => r.act.startsWith('rated:'));
    expect(runs).toHaveLength(tasks);
    expect(new Set(runs.map((r) => r.pid)).size).toBeGreaterThan(1);
  });
});
