import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { createTestDatabase } from '../support/databases.js';
import { FanFlow } from '../fixtures/fault-flows.js';
import { dispatchMany, killAllProcesses, openFaultEnv, waitAllCompleted, type FaultEnv } from './fault-env.js';

// Few slots per process and wide fan-outs: most results of a workflow are recorded by other processes,
// in batches a few milliseconds apart, which is where a wake-up could be lost.
const WORKER: WorkerOptions = { concurrency: 4, lease: '10s', pollInterval: '50ms', maxPollInterval: '500ms' };
const PROCESSES = 4;
const WORKFLOWS = 600;
const FAN = 6;
/**
 * Longest a workflow may sit idle once every result it waits for is recorded: a lost wake-up costs 30 s.
 * A process starved for a few seconds (two suites at once beside four workers on two cores) can leave a
 * few workflows idle for 3 s without losing anything, so the usual gap is bounded separately: at most 1%
 * of the workflows may wait longer than USUAL_GAP_MS.
 */
const MAX_GAP_MS = 10_000;
const USUAL_GAP_MS = 2_000;

describe('wake-ups across worker processes (postgres)', () => {
  let env: FaultEnv | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it(`no workflow of ${WORKFLOWS} waits more than ${MAX_GAP_MS} ms (99% no more than ${USUAL_GAP_MS} ms) after its fan-out's last result is recorded`, { timeout: 240_000 }, async () => {
    env = await openFaultEnv(await createTestDatabase('postgres'));
    const { client, inspector } = env;
    await Promise.all(Array.from({ length: PROCESSES }, () => env!.startWorker(WORKER)));
    await dispatchMany(WORKFLOWS, () => client.dispatch(FanFlow, [Array.from({ length: FAN }, () => 5 + Math.floor(Math.random() * 40)), 5]));
    await waitAllCompleted(inspector, WORKFLOWS, 180_000, `${WORKFLOWS} fan-out workflows to complete`);

    // Per workflow: when the last fanned-out result was recorded, and when the workflow asked for its next step.
    const rows = await inspector.query<{ execution_id: string; fanned_done: unknown; next_asked: unknown }>(
      `SELECT execution_id,
              MAX(CASE WHEN position < ? THEN finished_at END) AS fanned_done,
              MAX(CASE WHEN position = ? THEN created_at END) AS next_asked
       FROM ${inspector.t.steps} WHERE kind = 'activity' GROUP BY execution_id`,
      [FAN, FAN],
    );
    expect(rows).toHaveLength(WORKFLOWS);
    const positions = await inspector.scalar(`SELECT COUNT(DISTINCT position) FROM ${inspector.t.steps} WHERE kind = 'activity'`);
    expect(positions, 'fan-out steps take positions 0..FAN-1 and the next step FAN').toBe(FAN + 1);
    const gaps = rows.map((row) => ({ id: row.execution_id, gap: Number(row.next_asked) - Number(row.fanned_done) }));
    expect(gaps.every((g) => Number.isFinite(g.gap))).toBe(true);
    const stalled = gaps.filter((g) => g.gap > MAX_GAP_MS);
    expect(stalled, `workflows idle after their results were recorded (max gap ${Math.max(...gaps.map((g) => g.gap))} ms)`).toEqual([]);
    const slow = gaps.filter((g) => g.gap > USUAL_GAP_MS);
    expect(slow.length, `workflows idle over ${USUAL_GAP_MS} ms: ${JSON.stringify(slow.slice(0, 10))}`).toBeLessThanOrEqual(WORKFLOWS / 100);

    // The results really came from other processes for most workflows (the case under test happened).
    const crossed = await inspector.scalar(
      `SELECT COUNT(DISTINCT s.execution_id) FROM ${inspector.t.steps} s WHERE s.kind = 'activity' AND s.position < ?
         AND EXISTS (SELECT 1 FROM ${inspector.t.steps} o WHERE o.execution_id = s.execution_id AND o.kind = 'activity' AND o.position < ? AND o.result <> s.result
                     AND split_part(o.result, ':', 1) <> split_part(s.result, ':', 1))`,
      [FAN, FAN],
    );
    expect(crossed, 'workflows whose fan-out ran in more than one process').toBeGreaterThan(WORKFLOWS / 4);
  });
});
