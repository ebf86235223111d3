import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, type Dialect } from '../support/databases.js';
import { TenantKeyedWorkflow, TenantRatedWorkflow } from '../fixtures/flow-limit-flows.js';
import { dispatchMany, killAllProcesses, openFaultEnv, waitAllCompleted, WorkerProcess, type FaultEnv } from './fault-env.js';
import { expectKeyedOverlap } from './key-overlap.js';

// A run waits for its activity in memory (never suspended here), so an activity body lies inside the
// time its execution holds a slot: bodies of one key never overlap more than executions holding it could.
const WORKER: WorkerOptions = { lease: '30s', pollInterval: '30ms', maxPollInterval: '150ms', suspendAfter: '60s' };
const FLOW_FIXTURE = { fixture: 'flow-limit-flows.js', instances: 'flowLimitInstances' };
const TENANTS = ['acme', 'globex', 'initech'];

// As in flow-concurrency-keys: on SQLite one slot per process, else the process that just finished a
// run takes the next ones itself and a loaded machine may see one process do all the work.
const CASES: Array<{ dialect: Dialect; processes: number; tasks: number; concurrency: number }> = [
  { dialect: 'postgres', processes: 4, tasks: 120, concurrency: 8 },
  { dialect: 'sqlite', processes: 4, tasks: 80, concurrency: 1 },
];

describe.each(CASES)('workflow-level flow limits across processes ($dialect, $processes processes)', ({ dialect, processes, tasks, concurrency }) => {
  let env: FaultEnv | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it('never more than the limit (2) of one key holds a worker at any instant, and every key reaches it', async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    await Promise.all(Array.from({ length: processes }, () => WorkerProcess.start(env!.spec({ ...WORKER, concurrency }, FLOW_FIXTURE))));

    await dispatchMany(tasks, (i) => client.dispatch(TenantKeyedWorkflow, [TENANTS[i % TENANTS.length]!, i, 40]));
    await waitAllCompleted(inspector, tasks, 150_000, `${tasks} keyed workflows to complete`);

    const runs = env.runs().filter((r) => r.act.startsWith('wfkeyed:'));
    expect(runs).toHaveLength(tasks);
    expectKeyedOverlap(runs, 'wfkeyed:', TENANTS, 2);
    const keys = await inspector.query<{ concurrency_key: string }>(`SELECT DISTINCT concurrency_key FROM ${inspector.t.executions}`);
    expect(keys.map((row) => row.concurrency_key).sort()).toEqual([...TENANTS].sort());
    expect(await inspector.scalar(`SELECT COUNT(*) FROM ${inspector.t.executions} WHERE lease_owner IS NOT NULL`)).toBe(0);
  });

  it('no fixed 1-second window of a key starts more than its limit (3) of executions', async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    await Promise.all(Array.from({ length: processes }, () => WorkerProcess.start(env!.spec({ ...WORKER, concurrency: Math.min(concurrency, 4) }, FLOW_FIXTURE))));
    const tenants = TENANTS.slice(0, 2);
    const perTenant = 12;
    const total = perTenant * tenants.length;
    await dispatchMany(total, (i) => client.dispatch(TenantRatedWorkflow, [tenants[i % tenants.length]!, i]));
    await waitAllCompleted(inspector, total, 120_000, `${total} rate-limited workflows to complete`);

    // The window a start counts in is the one its claim took it in: the execution's started_at.
    const rows = await inspector.query<{ rate_key: string; started_at: unknown }>(`SELECT rate_key, started_at FROM ${inspector.t.executions}`);
    expect(rows).toHaveLength(total);
    for (const tenant of tenants) {
      const perWindow = new Map<number, number>();
      for (const row of rows.filter((r) => r.rate_key === tenant)) {
        const window = Math.floor(Number(row.started_at) / 1000);
        perWindow.set(window, (perWindow.get(window) ?? 0) + 1);
      }
      expect(Math.max(...perWindow.values()), `${tenant}: starts per window ${JSON.stringify([...perWindow])}`).toBe(3);
      expect(perWindow.size).toBeGreaterThanOrEqual(perTenant / 3);
    }
    expect(new Set(env.runs().filter((r) => r.act.startsWith('wfrated:')).map((r) => r.pid)).size).toBeGreaterThan(1);
  });
});
