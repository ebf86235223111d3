import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError, ManualClock } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { errorOf, ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { onDatabase, rowsOf } from '../support/table-rows.js';
import { waitUntil } from '../support/wait.js';
import { nudgeUntil } from '../support/manual-time.js';
import { Backorder, HeldShipment, retentionInstances, Shipment } from '../fixtures/retention-flows.js';

describe.each(DIALECTS)('the retention option on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('one worker at a time applies it, once per interval across two workers, on the engine clock', async () => {
    set = await ExecutorSet.create(dialect);
    // Rows written in real time by an application's worker...
    const app = await set.executor(retentionInstances(), QUICK_WORKER);
    const done = await app.dispatch(Shipment, [['a', 'b']]);
    const failed = await app.dispatch(Backorder, ['z']);
    const held = await app.dispatch(HeldShipment, ['h']);
    expect((await app.waitFor(done, { timeout: '30s' })).state).toBe('completed');
    expect((await app.waitFor(failed, { timeout: '30s' })).state).toBe('failed');
    await waitUntil(async () => (await app.getExecution(held)).childStates.completed === 1, 'the held shipment to finish its child');
    const doneTree = [done, ...(await app.listExecutions({ parentId: done })).items.map((item) => item.id)];
    const heldTree = [held, ...(await app.listExecutions({ parentId: held })).items.map((item) => item.id)];

    // ... then two workers with a retention policy, on one manual clock.
    const clock = new ManualClock(Date.now());
    const retention = { completed: '1h', failed: '1d', interval: '1h' };
    const first = await set.executor(retentionInstances(), { ...QUICK_WORKER, retention }, true, clock);
    const second = await set.executor(retentionInstances(), { ...QUICK_WORKER, retention }, true, clock);
    const started = clock.now();
    const runs = () => set!.logger.lines.filter((line) => line.message.startsWith('Stent retention (worker '));
    await waitUntil(() => runs().length === 1, 'the first period to run on one worker');
    expect(runs()[0]!.message).toMatch(/removed 0 execution\(s\)/);
    expect(await rowsOf(set.db, doneTree)).toMatchObject({ executions: 3 });

    // When a worker last took a period (the maintenance row's last_run_at).
    const lastTaken = async () =>
      Number((await onDatabase(set!.db, async (sql, _scalar, t) => (await sql(`SELECT last_run_at FROM ${t.maintenance} WHERE name = 'retention'`))[0] as { last_run_at: unknown })).last_run_at);
    // Both keep checking (every minute of engine time); the period ends an hour after the first run. The
    // clock moves only until a worker takes it: moved on while that period's cleanup runs (seconds on a
    // loaded machine), it brought the period after it due as well, run with the earlier cutoffs.
    const firstTaken = await lastTaken();
    await nudgeUntil(clock, async () => (await lastTaken()) > firstTaken, 'the second period to be taken', 60_000);
    await waitUntil(() => runs().length === 2, 'the second period to run');
    expect(clock.now() - started).toBeGreaterThanOrEqual(3_600_000);
    expect(runs()[1]!.message).toMatch(/removed 3 execution\(s\)/);
    expect(await rowsOf(set.db, doneTree)).toEqual({ executions: 0, steps: 0, signals: 0, deadLetters: 0 });
    // Failed executions are kept a day; the running tree stays whole.
    expect((await rowsOf(set.db, [failed])).executions).toBe(1);
    expect((await rowsOf(set.db, heldTree)).executions).toBe(2);
    const owners = [first.worker!.ownerId, second.worker!.ownerId];
    expect(runs().every((line) => owners.some((owner) => line.message.includes(owner)))).toBe(true);
    const row = await onDatabase(set.db, async (sql, _scalar, t) => (await sql(`SELECT owner, last_run_at, next_run_at FROM ${t.maintenance} WHERE name = 'retention'`))[0] as { owner: string; last_run_at: unknown; next_run_at: unknown });
    expect(owners).toContain(row.owner);
    expect(Number(row.next_run_at)).toBe(Number(row.last_run_at) + 3_600_000);

    // A day later the failed one goes too.
    const secondTaken = await lastTaken();
    clock.advance(25 * 3_600_000);
    await nudgeUntil(clock, async () => (await lastTaken()) > secondTaken, 'the period a day later to be taken', 60_000);
    await waitUntil(() => runs().length === 3, 'the run a day later');
    expect((await rowsOf(set.db, [failed])).executions).toBe(0);
    expect((await rowsOf(set.db, heldTree)).executions).toBe(2);
    // Checks that followed the jump found the period taken.
    clock.advance(60_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs()).toHaveLength(3);
  });

  it('a bad policy fails when the executor is made', async () => {
    set = await ExecutorSet.create(dialect);
    expect(await errorOf(() => set!.executor([], { retention: { completed: 'a week' } }))).toMatchObject({ code: 'STENT_INVALID_DURATION' });
    expect(await errorOf(() => set!.executor([], { retention: { complete: '7d' } as never }))).toBeInstanceOf(ConfigurationError);
  });

  it('a failed execution and its dead-lettered step are logged as warnings with the execution id, workflow and step', async () => {
    set = await ExecutorSet.create(dialect);
    const executor = await set.executor(retentionInstances(), QUICK_WORKER);
    const failed = await executor.dispatch(Backorder, ['q']);
    expect((await executor.waitFor(failed, { timeout: '30s' })).state).toBe('failed');
    const warnings = () => set!.logger.lines.filter((line) => line.level === 'warn').map((line) => line.message);
    await waitUntil(() => warnings().length >= 2, 'two warnings');
    expect(warnings()).toEqual(
      expect.arrayContaining([
        `Step 'Stock.refuse' (position 0) of execution ${failed} of workflow Backorder dead-lettered after 1 attempt(s) (non-retryable error): NonRetryableError: no stock of q`,
        `Execution ${failed} of workflow Backorder failed at step 'Stock.refuse': ActivityFailedError: Activity 'Stock.refuse' failed after 1 attempt: no stock of q`,
      ]),
    );
  });
});
