import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, type Dialect } from '../support/databases.js';
import { KeyedChainFlow, KeyedFlow, RoomyFanOutFlow, RoomyFlow } from '../fixtures/flow-limit-flows.js';
import { waitUntil } from '../support/wait.js';
import { dispatchMany, killAllProcesses, openFaultEnv, waitAllCompleted, WorkerProcess, type FaultEnv } from './fault-env.js';
import { expectKeyedOverlap } from './key-overlap.js';

// Nothing is killed here: the lease only has to outlast a stall of a starved worker.
const WORKER: WorkerOptions = { lease: '30s', pollInterval: '30ms', maxPollInterval: '150ms' };
const FLOW_FIXTURE = { fixture: 'flow-limit-flows.js', instances: 'flowLimitInstances' };
const TENANTS = ['acme', 'globex', 'initech'];

// As in fault-max-concurrent: on SQLite one slot per process forces a key's two running bodies into
// different processes (a just-finished process would otherwise take every slot itself).
const CASES: Array<{ dialect: Dialect; processes: number; tasks: number; concurrency: number }> = [
  { dialect: 'postgres', processes: 8, tasks: 240, concurrency: 4 },
  { dialect: 'sqlite', processes: 4, tasks: 120, concurrency: 1 },
];

describe.each(CASES)('concurrency keys across processes ($dialect, $processes processes)', ({ dialect, processes, tasks, concurrency }) => {
  let env: FaultEnv | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it('never more than the limit (2) of one key runs at any instant, and every key reaches it', async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    await Promise.all(Array.from({ length: processes }, () => WorkerProcess.start(env!.spec({ ...WORKER, concurrency }, FLOW_FIXTURE))));

    await dispatchMany(tasks, (i) => client.dispatch(KeyedFlow, [TENANTS[i % TENANTS.length]!, i, 25]));
    await waitAllCompleted(inspector, tasks, 150_000, `${tasks} keyed tasks to complete`);

    const runs = env.runs().filter((r) => r.act.startsWith('keyed:'));
    expect(runs).toHaveLength(tasks);
    expectKeyedOverlap(runs, 'keyed:', TENANTS, 2);
    expect(await inspector.scalar(`SELECT COUNT(*) FROM ${inspector.t.steps} WHERE state <> 'completed' OR lease_owner IS NOT NULL`)).toBe(0);
  });

  it('keyed calls in a row hand their slots on in the write of their results, and still never exceed the limit', async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    // Two slots a process: a finished call's slot is free for the next call of its run.
    await Promise.all(Array.from({ length: processes }, () => WorkerProcess.start(env!.spec({ ...WORKER, concurrency: concurrency + 1 }, FLOW_FIXTURE))));
    const chains = tasks / 3;

    await dispatchMany(chains, (i) => client.dispatch(KeyedChainFlow, [TENANTS[i % TENANTS.length]!, i, 10]));
    await waitAllCompleted(inspector, chains, 150_000, `${chains} keyed chains to complete`);

    const runs = env.runs().filter((r) => r.act.startsWith('keyed:'));
    expect(runs).toHaveLength(chains * 3);
    expectKeyedOverlap(runs, 'keyed:', TENANTS, 2);
    // A step inserted running (a slot handed on) started when it was recorded; a claimed one later.
    const handedOn = await inspector.scalar(`SELECT COUNT(*) FROM ${inspector.t.steps} WHERE position > 0 AND started_at = created_at`);
    expect(handedOn).toBeGreaterThan(0);
    expect(await inspector.scalar(`SELECT COUNT(*) FROM ${inspector.t.steps} WHERE state <> 'completed' OR lease_owner IS NOT NULL`)).toBe(0);
  });

  it("a key with 1,000 queued steps delays another key's single step by a few claim rounds at most", async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    // First only workflows run (the activity's queue is not served), so the backlog is complete
    // before any activity worker starts: 1,000 steps of one tenant, then one step of another. One fan-out
    // queues the 1,000 (1,000 one-call workflows took 20-30 s of workflow tasks on a loaded machine,
    // and the claim ranks steps by key, not by execution).
    const planner = await WorkerProcess.start(env.spec({ ...WORKER, concurrency: 8, queues: ['default'] }, FLOW_FIXTURE));
    const busy = 1000;
    await client.dispatch(RoomyFanOutFlow, ['busy', busy, 5]);
    await waitUntil(async () => (await inspector.scalar(`SELECT COUNT(*) FROM ${inspector.t.steps} WHERE kind = 'activity' AND state = 'pending'`)) === busy, 'the busy backlog', 120_000, 100);
    await client.dispatch(RoomyFlow, ['quiet', 0, 5]);
    await waitUntil(async () => (await inspector.scalar(`SELECT COUNT(*) FROM ${inspector.t.steps} WHERE kind = 'activity' AND state = 'pending'`)) === busy + 1, 'the quiet step', 120_000, 50);

    const slots = 4;
    await Promise.all([0, 1].map(() => WorkerProcess.start(env!.spec({ ...WORKER, concurrency: slots, queues: ['roomy'] }, FLOW_FIXTURE))));
    await waitUntil(() => env!.runs().some((r) => r.act === 'roomy:quiet' && r.end !== undefined), 'the quiet step to run', 120_000, 50);
    const runs = env.runs().filter((r) => r.act.startsWith('roomy:'));
    const quiet = runs.find((r) => r.act === 'roomy:quiet')!;
    const busyBefore = runs.filter((r) => r.act === 'roomy:busy' && r.start < quiet.start).length;
    // In claim order (oldest first) it would wait for all 1,000; round-robin takes it in the first round of
    // each worker that has room, so only the steps of a few rounds (2 processes x 4 slots each) come first.
    expect(busyBefore, `${busyBefore} busy steps started before the quiet one`).toBeLessThanOrEqual(3 * 2 * slots);
    await planner.kill();
  });
});
