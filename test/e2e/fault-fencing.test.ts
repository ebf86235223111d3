import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { ByAttemptFlow } from '../fixtures/fault-flows.js';
import { exactlyOnceProblems, freezeOutsideTransaction, killAllProcesses, openFaultEnv, recordedSteps, type FaultEnv, type WorkerProcess } from './fault-env.js';

const WORKER: WorkerOptions = { concurrency: 2, lease: '1500ms', heartbeat: '300ms', pollInterval: '50ms', maxPollInterval: '200ms' };
const BODY_MS = 2500;
/**
 * How long the new owner's body runs where the frozen worker must finish its own first: long enough that
 * the test sees the takeover, resumes the frozen worker and that worker ends its overdue body within it,
 * however late a loaded machine lets each of them run.
 */
const TAKEN_OVER_BODY_MS = 8000;

describe.each(DIALECTS)('fencing: a worker frozen past its lease (%s)', (dialect) => {
  let env: FaultEnv | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  /**
   * Starts a workflow of one slow activity on worker A, freezes A (SIGSTOP) while the body runs, starts B.
   * The activity's body runs BODY_MS on A, and on B `takenOverMs`.
   */
  async function freezeOwnerAndStartAnother(takenOverMs = BODY_MS): Promise<{ id: string; frozen: WorkerProcess; other: WorkerProcess }> {
    const frozen = await env!.startWorker(WORKER, { trace: true });
    const id = await env!.client.dispatch(ByAttemptFlow, [[BODY_MS, takenOverMs]]);
    const run = await env!.explain(
      waitUntil(() => env!.runs().find((r) => r.executionId === id && r.end === undefined), 'the activity to start on worker A', 30_000),
      [id],
      [frozen],
    );
    expect(run.pid).toBe(frozen.pid);
    await freezeOutsideTransaction(frozen, env!.inspector);
    const other = await env!.startWorker(WORKER, { trace: true });
    return { id, frozen, other };
  }

  /** What must hold at the end: one journal row holding B's result, execution completed with it, A's run dropped. */
  async function expectNewOwnersResult(id: string, frozen: WorkerProcess, other: WorkerProcess): Promise<void> {
    const { client, inspector } = env!;
    const runs = env!.runs().filter((r) => r.executionId === id);
    expect(runs).toHaveLength(2);
    const mine = runs.find((r) => r.pid === frozen.pid)!;
    const theirs = runs.find((r) => r.pid === other.pid)!;
    expect(mine.end, 'the frozen worker finished its body after SIGCONT').toBeDefined();
    expect(theirs.end).toBeDefined();

    const journal = await client.getJournal(id);
    expect(journal).toHaveLength(1);
    expect(journal[0]!.state).toBe('completed');
    expect(journal[0]!.result).toBe(theirs.run);
    const execution = await client.getExecution(id);
    expect(execution.state).toBe('completed');
    expect(execution.result?.ok).toBe(true);
    expect(execution.result?.value).toEqual([theirs.run]);
    expect(execution.leaseOwner).toBeNull();
    const held = await inspector.scalar(`SELECT COUNT(*) FROM ${inspector.t.steps} WHERE lease_owner IS NOT NULL`);
    expect(held).toBe(0);
    expect(exactlyOnceProblems(await recordedSteps(inspector, [id]), runs, new Set([frozen.pid]))).toEqual([]);
  }

  it("resumed after the new owner finished the task: its late result is dropped, the new owner's stays", async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { id, frozen, other } = await freezeOwnerAndStartAnother();

    const result = await env.explain(env.client.waitFor<string[]>(id, { timeout: '60s' }), [id], [frozen, other]);
    expect(result.state).toBe('completed');
    const theirs = env.runs().find((r) => r.executionId === id && r.pid === other.pid);
    expect(result.value).toEqual([theirs?.run]);

    frozen.signal('SIGCONT');
    await env.explain(
      waitUntil(() => env!.runs().find((r) => r.executionId === id && r.pid === frozen.pid && r.end !== undefined), 'the resumed worker to finish its body', 20_000),
      [id],
      [frozen, other],
    );
    // A graceful stop waits for the finished attempt's outcome to be written (or refused).
    const exit = await frozen.terminate();
    expect(exit.code, frozen.stderr.slice(-2000)).toBe(0);
    await expectNewOwnersResult(id, frozen, other);
  });

  it("resumed while the new owner still runs the task: its stale completion changes nothing, the new owner's result is recorded", async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { id, frozen, other } = await freezeOwnerAndStartAnother(TAKEN_OVER_BODY_MS);

    await env.explain(
      waitUntil(() => env!.runs().find((r) => r.executionId === id && r.pid === other.pid), 'worker B to take the task over', 30_000),
      [id],
      [frozen, other],
    );
    frozen.signal('SIGCONT');
    const stale = await env.explain(
      waitUntil(() => env!.runs().find((r) => r.executionId === id && r.pid === frozen.pid && r.end !== undefined), 'the resumed worker to finish its body', 20_000),
      [id],
      [frozen, other],
    );
    const exit = await frozen.terminate();
    expect(exit.code, frozen.stderr.slice(-2000)).toBe(0);

    const result = await env.explain(env.client.waitFor<string[]>(id, { timeout: '60s' }), [id], [frozen, other]);
    expect(result.state).toBe('completed');
    const theirs = env.runs().find((r) => r.executionId === id && r.pid === other.pid)!;
    // The scenario really happened: the stale body finished while the new owner's was still running.
    expect(stale.end!).toBeLessThan(theirs.end!);
    expect(result.value).toEqual([theirs.run]);
    await expectNewOwnersResult(id, frozen, other);
  });
});
