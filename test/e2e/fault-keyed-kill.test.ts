import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, type Dialect } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { KeyedChainFlow } from '../fixtures/flow-limit-flows.js';
import { monotonicNow } from '../fixtures/fault-flows.js';
import { dispatchMany, killAllProcesses, maxOverlap, openFaultEnv, waitAllCompleted, WorkerProcess, type FaultEnv } from './fault-env.js';

// A short lease: the killed worker's slots come back once it runs out.
const WORKER: WorkerOptions = { lease: '2s', heartbeat: '300ms', pollInterval: '50ms', maxPollInterval: '200ms' };
const FLOW_FIXTURE = { fixture: 'flow-limit-flows.js', instances: 'flowLimitInstances' };
const TENANTS = ['acme', 'globex'];
const LIMIT = 2;

const CASES: Array<{ dialect: Dialect; processes: number; concurrency: number }> = [
  { dialect: 'postgres', processes: 3, concurrency: 3 },
  { dialect: 'sqlite', processes: 2, concurrency: 3 },
];

describe.each(CASES)('a worker killed while it holds keyed slots ($dialect, $processes processes)', ({ dialect, processes, concurrency }) => {
  let env: FaultEnv | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it("its keys' slots come back after its lease expires, and no key ever runs more than its limit", async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    const workers = await Promise.all(Array.from({ length: processes }, () => WorkerProcess.start(env!.spec({ ...WORKER, concurrency }, FLOW_FIXTURE))));
    // Chains of three calls: slots pass from call to call (hand-on) and from run to run (hand-off).
    const chains = 24;
    await dispatchMany(chains, (i) => client.dispatch(KeyedChainFlow, [TENANTS[i % TENANTS.length]!, i, 150]));

    // The victim is a worker running keyed bodies right now, one of which came past its run's first call
    // (a slot it got without a claim). Chosen when that happens, not in advance: a worker that holds a
    // key's slots hands them on to its own runs, so which worker gets keyed work is the race's to decide.
    const runsKeyedNow = (pid: number): boolean => env!.runs().some((r) => r.pid === pid && r.end === undefined && r.act.startsWith('keyed:') && r.position > 0);
    const victim = await waitUntil(() => workers.find((w) => w.alive && runsKeyedNow(w.pid)), 'a worker running keyed calls past a first one', 60_000, 10);
    const killedAt = monotonicNow();
    await victim.kill();
    expect(victim.exitInfo?.signal).toBe('SIGKILL');
    const cut = env.runs().filter((r) => r.pid === victim.pid && r.end === undefined && r.act.startsWith('keyed:'));
    expect(cut.length).toBeGreaterThan(0);

    await waitAllCompleted(inspector, chains, 120_000, `${chains} keyed chains to complete after the kill`);
    const runs = env.runs().filter((r) => r.act.startsWith('keyed:'));
    // A body cut by the kill ran until the kill, on the machine's monotonic clock (see RunRecord.m).
    const interval = (r: (typeof runs)[number]) => ({ start: r.startM, end: r.endM ?? killedAt });
    for (const tenant of TENANTS) {
      const overlap = maxOverlap(runs.filter((r) => r.act === `keyed:${tenant}`).map(interval));
      expect(overlap.max, `${tenant}: ${overlap.max} at once`).toBeLessThanOrEqual(LIMIT);
    }
    // The steps the victim was running when it died ran again elsewhere once its lease ran out.
    for (const step of cut) {
      const again = runs.find((r) => r.executionId === step.executionId && r.position === step.position && r.pid !== victim.pid && r.endM !== undefined);
      expect(again, `step ${step.executionId}#${step.position} ran again`).toBeDefined();
      expect(again!.startM).toBeGreaterThan(killedAt);
    }
    // Nothing is left running or holding a lease: every slot the victim held came back.
    expect(await inspector.scalar(`SELECT COUNT(*) FROM ${inspector.t.steps} WHERE state <> 'completed' OR lease_owner IS NOT NULL`)).toBe(0);
  });
});
