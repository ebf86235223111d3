import { afterEach, describe, expect, it } from 'vitest';
import {
  ActivityFailedError,
  ActivityTimeoutError,
  defineActivity,
  defineWorkflow,
  ManualClock,
  SignalTimeoutError,
  Stent,
  WorkflowTimedOutError,
  type JournalEntry,
  type StentExecutor,
  type WorkerOptions,
} from 'nestjs-stent';
import { connectPostgres, DIALECTS, POSTGRES_URL } from '../support/databases.js';
import { ExecutorSet, Gate } from '../support/executor-set.js';
import { countEvents, MANUAL_WORKER, nudgeUntil, SETTLE_BEFORE_BOUND_MS } from '../support/manual-time.js';
import { waitUntil } from '../support/wait.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;


// ---- workflows and activities ------------------------------------------------------------------------

/** Fails its first attempt for each order; the retry waits an hour (no jitter, so the back-off is exact). */
class ChargeFailingOnce {
  readonly attempts = new Map<string, number>();
  async charge(orderId: string): Promise<string> {
    const attempt = (this.attempts.get(orderId) ?? 0) + 1;
    this.attempts.set(orderId, attempt);
    if (attempt === 1) throw new Error('gateway down');
    return `charged ${orderId}`;
  }
}
defineActivity(ChargeFailingOnce, { retry: { maxAttempts: 3, initialDelay: '1h', jitter: false } });

/** Sleeps 30 days, waits 2 days for an approval that never comes, then charges (retried after an hour). */
class MonthLongOrder {
  constructor(private readonly payments: ChargeFailingOnce) {}
  async run(orderId: string): Promise<{ approval: string; receipt: string; startedAt: number; finishedAt: number }> {
    const startedAt = Stent.now().getTime();
    await Stent.sleep('30d');
    let approval = 'approved';
    try {
      await Stent.waitForSignal('approval', { timeout: '2d' });
    } catch (error) {
      if (!(error instanceof SignalTimeoutError)) throw error;
      approval = 'timed out';
    }
    const receipt = await this.payments.charge(orderId);
    return { approval, receipt, startedAt, finishedAt: Stent.now().getTime() };
  }
}
defineWorkflow(MonthLongOrder);

/** Waits for a signal nobody sends: only maxDuration ends it. */
class AwaitsForever {
  async run(): Promise<string> {
    await Stent.waitForSignal('never');
    return 'unreachable';
  }
}
defineWorkflow(AwaitsForever);

/** Runs until its AbortSignal fires (an attempt time-out). */
class WaitsForAbort {
  started = 0;
  async work(): Promise<string> {
    this.started++;
    const { signal } = Stent.activity();
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    throw signal.reason;
  }
}
defineActivity(WaitsForAbort, { timeout: '1h', retry: { maxAttempts: 1 } });

class TimesOutAnActivity {
  constructor(private readonly slow: WaitsForAbort) {}
  async run(): Promise<string> {
    return this.slow.work();
  }
}
defineWorkflow(TimesOutAnActivity);

/** Runs until the test opens its gate. */
class GatedWork {
  constructor(readonly gate: Gate) {}
  async work(): Promise<string> {
    await this.gate.wait();
    return 'done';
  }
}
defineActivity(GatedWork, { retry: { maxAttempts: 1 } });

class RunsGatedWork {
  constructor(private readonly gated: GatedWork) {}
  async run(): Promise<string> {
    return this.gated.work();
  }
}
defineWorkflow(RunsGatedWork);

// ---- tests -------------------------------------------------------------------------------------------

describe.each(DIALECTS)('a manual clock drives every engine timer on %s', (dialect) => {
  let set: ExecutorSet;
  afterEach(async () => set?.dispose());

  async function onManualClock(instances: object[], worker: WorkerOptions = MANUAL_WORKER): Promise<{ clock: ManualClock; executor: StentExecutor }> {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const executor = await set.executor(instances, worker, true, clock);
    return { clock, executor };
  }

  const finalStates = ['completed', 'failed', 'cancelled', 'timed_out'];
  const ended = async (executor: StentExecutor, id: string) => {
    const info = await executor.getExecution(id);
    return finalStates.includes(info.state) ? info : undefined;
  };

  /**
   * One month-long order from dispatch to its end, driven by the clock; returns the real time it took and
   * the CPU time of this process meanwhile.
   *
   * While the test waits for the engine it nudges the clock a second at a time, and on a loaded machine it
   * nudges more often (a claim round or a write takes longer in real time), so the clock times of events
   * are checked where the engine computes them (due times: exactly the sleep, the signal's time-out, the
   * back-off after the failed attempt) and never before them, not against a window of nudges. A timer
   * that waited in real time, or fired late on the clock, would not end within nudgeUntil's real-time
   * deadline: the test moves the clock only by the jumps below and its nudges.
   */
  async function monthLongOrder(clock: ManualClock, executor: StentExecutor, payments: ChargeFailingOnce, orderId: string): Promise<{ realMs: number; cpuMs: number }> {
    const realStart = performance.now();
    const cpuStart = process.cpuUsage();
    const suspensions = countEvents(executor, 'execution.suspended', orderId);
    const failures = countEvents(executor, 'step.failed', orderId);
    const finished = countEvents(executor, 'execution.finished', orderId);
    await executor.dispatch(MonthLongOrder, [orderId], { executionId: orderId });
    await nudgeUntil(clock, () => suspensions.count === 1, 'the sleeping workflow to be suspended');

    clock.advance('30d');
    await nudgeUntil(clock, () => suspensions.count === 2, 'the workflow waiting for its signal to be suspended');

    clock.advance('2d');
    const failedAttempt = await nudgeUntil(
      clock,
      async () => (failures.count === 1 ? (await executor.store.loadJournal(orderId)).find((step) => step.kind === 'activity' && step.attempts === 1 && step.state === 'pending') : undefined),
      'the first charge attempt to fail and wait for its retry',
    );

    clock.advance('1h');
    await nudgeUntil(clock, () => finished.count === 1, 'the workflow to end');
    const realMs = performance.now() - realStart;
    const cpu = process.cpuUsage(cpuStart);

    const done = await executor.getExecution(orderId);
    const value = done.result!.unwrap() as { approval: string; receipt: string; startedAt: number; finishedAt: number };
    expect(value).toMatchObject({ approval: 'timed out', receipt: `charged ${orderId}` });
    expect(payments.attempts.get(orderId)).toBe(2);
    const journal = await executor.getJournal(orderId);
    expect(journal.map((step) => `${step.kind}:${step.state}`)).toEqual(['value:completed', 'sleep:completed', 'signal:failed', 'activity:completed', 'value:completed']);
    const [, sleep, signal, charge] = journal as [JournalEntry, JournalEntry, JournalEntry, JournalEntry];
    // The sleep was due 30 days after the workflow read the clock, and ended no earlier.
    expect(sleep.fireAt!.getTime() - value.startedAt).toBe(30 * DAY);
    expect(sleep.finishedAt!.getTime()).toBeGreaterThanOrEqual(sleep.fireAt!.getTime());
    // The signal's wait began after the sleep; its time-out was due 2 days later and failed it no earlier.
    expect(signal.createdAt.getTime()).toBeGreaterThanOrEqual(sleep.fireAt!.getTime());
    expect(signal.fireAt!.getTime() - signal.createdAt.getTime()).toBe(2 * DAY);
    expect(signal.finishedAt!.getTime()).toBeGreaterThanOrEqual(signal.fireAt!.getTime());
    expect(signal.error).toBeInstanceOf(SignalTimeoutError);
    // The retry was due an hour after the failed attempt, and the second attempt ran no earlier.
    expect(failedAttempt.availableAt - failedAttempt.startedAt!).toBeGreaterThanOrEqual(HOUR);
    expect(charge.startedAt!.getTime()).toBeGreaterThanOrEqual(failedAttempt.availableAt);
    expect(value.finishedAt - value.startedAt).toBeGreaterThanOrEqual(32 * DAY + HOUR);
    return { realMs, cpuMs: (cpu.user + cpu.system) / 1_000 };
  }

  it('30 days asleep, 2 days waiting for a signal that never comes and a 1-hour retry back-off take well under a second', async () => {
    const payments = new ChargeFailingOnce();
    const { clock, executor } = await onManualClock([payments, new MonthLongOrder(payments)]);
    // The first order also pays for what any first run costs (compiling code paths, preparing statements).
    await monthLongOrder(clock, executor, payments, 'order-1');
    const { realMs, cpuMs } = await monthLongOrder(clock, executor, payments, 'order-2');
    // A month of timers costs this process well under a second of CPU (about 0.1 s on an idle machine).
    // Real time, about 0.1 s on SQLite and 0.3 s on PostgreSQL on an idle machine, grows with the
    // machine's load and the shared server's; its bound only says that none of this workflow's timers (an
    // hour, days) was waited for in real time.
    expect(cpuMs, `${Math.round(cpuMs)} ms of CPU, ${Math.round(realMs)} ms of real time`).toBeLessThan(1_000);
    expect(realMs, `${Math.round(realMs)} ms of real time, ${Math.round(cpuMs)} ms of CPU`).toBeLessThan(10_000);
  });

  it('a dispatch delay and maxDuration elapse on the clock, not in real time', async () => {
    const { clock, executor } = await onManualClock([new AwaitsForever()]);
    const start = clock.now();
    const id = 'delayed';
    const suspensions = countEvents(executor, 'execution.suspended', id);
    await executor.dispatch(AwaitsForever, [], { executionId: id, delay: '3d', maxDuration: '7d' });
    clock.advance('2d');
    // Polls go on for a minute of clock time; the execution is not due yet.
    await nudgeUntil(clock, () => clock.now() - start >= 2 * DAY + 60_000, 'a minute of polls');
    expect((await executor.getExecution(id)).state).toBe('pending');

    clock.advance('1d');
    await nudgeUntil(clock, () => suspensions.count === 1, 'the delayed workflow to start and wait', 1_000, 30_000, SETTLE_BEFORE_BOUND_MS);
    const started = (await executor.getExecution(id)).startedAt!.getTime() - start;
    expect(started).toBeGreaterThanOrEqual(3 * DAY);
    expect(started).toBeLessThan(3 * DAY + 2 * 60_000);

    clock.advance('7d');
    const info = await nudgeUntil(clock, () => ended(executor, id), 'the workflow to time out', 1_000, 30_000, SETTLE_BEFORE_BOUND_MS);
    expect(info.state).toBe('timed_out');
    expect(info.result!.error).toBeInstanceOf(WorkflowTimedOutError);
    expect(info.finishedAt!.getTime() - info.startedAt!.getTime()).toBeGreaterThanOrEqual(7 * DAY);
    expect(info.finishedAt!.getTime() - info.startedAt!.getTime()).toBeLessThan(7 * DAY + 60_000);
  });

  it("an activity's time-out fires on the clock: its AbortSignal fires and the attempt fails", async () => {
    const slow = new WaitsForAbort();
    const { clock, executor } = await onManualClock([slow, new TimesOutAnActivity(slow)]);
    const id = await executor.dispatch(TimesOutAnActivity, []);
    await waitUntil(() => slow.started === 1, 'the attempt to start');
    clock.advance('59m');
    expect((await executor.getJournal(id))[0]?.state).toBe('running');

    clock.advance('1m');
    const info = await nudgeUntil(clock, () => ended(executor, id), 'the workflow to fail');
    expect(info.state).toBe('failed');
    const error = info.result!.error as ActivityFailedError;
    expect(error).toBeInstanceOf(ActivityFailedError);
    expect(error.cause).toBeInstanceOf(ActivityTimeoutError);
  });

  it('heartbeats renew leases on the clock: an attempt running past its lease is not reclaimed', async () => {
    const gated = new GatedWork(new Gate());
    const { clock, executor } = await onManualClock([gated, new RunsGatedWork(gated)], { ...MANUAL_WORKER, lease: '30s', heartbeat: '10s' });
    const id = await executor.dispatch(RunsGatedWork, []);
    await waitUntil(() => gated.gate.entered === 1, 'the attempt to start');
    // Two minutes of clock time, four times the lease, in steps of one heartbeat; the reaper looks every 5 s.
    // PostgreSQL sets and judges leases by its own clock (workers' clocks may disagree): each renewal moves
    // the lease on from the server's time; SQLite uses the engine's clock.
    let previous = (await executor.store.loadJournal(id))[0]!.leaseExpiresAt!;
    for (let i = 0; i < 12; i++) {
      clock.advance('10s');
      const expected = clock.now() + 30_000;
      const renewed = (lease: number | null | undefined) => (dialect === 'sqlite' ? lease === expected : lease !== null && lease !== undefined && lease > previous);
      previous = (await waitUntil(async () => {
        const lease = (await executor.store.loadJournal(id))[0]?.leaseExpiresAt;
        return renewed(lease) ? lease : undefined;
      }, 'the heartbeat to renew the lease'))!;
      // The renewal is in the database before the worker has read its answer (on PostgreSQL it goes on with
      // the executions' leases). The next jump waits for that answer, as time would: jumps taken while
      // answers lag are renewals that look unanswered for a whole lease, and the worker gives up its attempt.
      await waitUntil(() => !executor.worker!.leases.busy, 'the heartbeat to finish');
    }
    gated.gate.open();
    const info = await nudgeUntil(clock, () => ended(executor, id), 'the workflow to complete');
    expect(info.result!.unwrap()).toBe('done');
    const [step] = await executor.store.loadJournal(id);
    expect(step).toMatchObject({ attempts: 1, recoveries: 0 });
    expect(gated.gate.entered).toBe(1);
  });
});

describe('a heartbeat on its way', () => {
  let set: ExecutorSet | undefined;
  afterEach(async () => set?.dispose());

  it('keeps the worker unsettled until it is answered, so a clock is not moved under it', async () => {
    set = await ExecutorSet.create('postgres');
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const executor = await set.executor([], { ...MANUAL_WORKER, lease: '30s', heartbeat: '10s' }, true, clock);
    const worker = executor.worker!;
    // Another transaction holds the worker's row: the heartbeat's write of it waits.
    const blocker = await connectPostgres(POSTGRES_URL);
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT id FROM "${set.db.schema}".stent_workers WHERE id = $1 FOR UPDATE`, [worker.ownerId]);
      clock.advance('10s');
      await waitUntil(() => worker.unsettled() === 'a heartbeat is renewing leases', 'the waiting heartbeat to keep the worker unsettled');
      expect(worker.leases.busy).toBe(true);
      await blocker.query('COMMIT');
      await waitUntil(() => worker.unsettled() === undefined, 'the worker to settle once the heartbeat is answered');
      expect(worker.leases.busy).toBe(false);
    } finally {
      await blocker.end();
    }
  });
});
