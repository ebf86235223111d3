import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, listenStatement } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { SeqFlow } from '../fixtures/fault-flows.js';
import { killAllProcesses, openFaultEnv, type FaultEnv } from './fault-env.js';

// Idle workers back off to maxPollInterval between polls; a lost notification may cost up to that.
const WORKER: WorkerOptions = { concurrency: 4, lease: '5s', pollInterval: '300ms', maxPollInterval: '1500ms' };
/**
 * Bound for "found without a notification": a few polling intervals, sized for a 2-core machine running
 * several suites beside this one's terminator loop (10 s was exceeded there). Without polling the
 * work would not be found at all.
 */
const POLL_BOUND_MS = 30_000;

describe('lost PostgreSQL notifications', () => {
  let env: FaultEnv | undefined;
  let stopTerminator: (() => Promise<void>) | undefined;

  afterEach(async () => {
    await stopTerminator?.();
    stopTerminator = undefined;
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it("work dispatched while the worker's LISTEN connection is gone is picked up by polling, and the listener comes back", async () => {
    env = await openFaultEnv(await createTestDatabase('postgres'));
    const { client, inspector } = env;
    const listen = listenStatement(env.db.schema!);
    // The test process never calls waitFor (which would LISTEN too): the worker's is the only listener.
    const listeners = async () =>
      (await inspector.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query = ? AND pid <> pg_backend_pid()`, [listen])).map((r) => Number(r.pid));
    const completes = async (id: string, what: string) => {
      const started = Date.now();
      await waitUntil(async () => (await client.getExecution(id)).state === 'completed', what, POLL_BOUND_MS, 25);
      return Date.now() - started;
    };

    const worker = await env.startWorker(WORKER);
    const [original] = await waitUntil(async () => {
      const pids = await listeners();
      return pids.length === 1 ? pids : undefined;
    }, "the worker's LISTEN connection", 20_000);
    await completes(await client.dispatch(SeqFlow, [[0]]), 'a warm-up workflow');

    // 1. Kill the listening backend and dispatch at once from this (another) process.
    const terminated = await inspector.scalar(`SELECT COUNT(*) FROM (SELECT pg_terminate_backend(?) AS t) x WHERE t`, [original]);
    expect(terminated).toBe(1);
    const first = await client.dispatch(SeqFlow, [[0]]);
    await completes(first, 'the workflow dispatched right after the listener was killed');

    // ... and the listener reconnects: a new LISTEN backend.
    const [reconnected] = await waitUntil(async () => {
      const pids = (await listeners()).filter((pid) => pid !== original);
      return pids.length > 0 ? pids : undefined;
    }, 'a new LISTEN connection', 20_000);
    expect(reconnected).not.toBe(original);

    // 2. A longer outage: every LISTEN connection is killed as soon as it appears, so notifications are lost;
    //    work dispatched meanwhile is found by polling.
    const killedPids = new Set<number>([original!]);
    let running = true;
    const loop = (async () => {
      while (running) {
        for (const pid of await listeners().catch(() => [])) {
          await inspector.query(`SELECT pg_terminate_backend(?)`, [pid]).catch(() => undefined);
          killedPids.add(pid);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    stopTerminator = async () => {
      running = false;
      await loop;
    };
    await waitUntil(() => killedPids.has(reconnected!), 'the terminator to kill the reconnected listener', 10_000);
    for (let i = 0; i < 3; i++) {
      const id = await client.dispatch(SeqFlow, [[0, 0]]);
      await completes(id, `workflow ${i + 1} dispatched during the outage`);
    }
    await stopTerminator();
    stopTerminator = undefined;

    // 3. The outage ends: the listener is back for good and work flows again.
    await waitUntil(async () => (await listeners()).some((pid) => !killedPids.has(pid)), 'the listener to reconnect after the outage', 20_000);
    await completes(await client.dispatch(SeqFlow, [[0]]), 'a workflow after the outage');
    expect(worker.alive).toBe(true);
    expect(killedPids.size).toBeGreaterThanOrEqual(2);
  });
});
