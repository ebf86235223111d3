import { afterEach, describe, expect, it } from 'vitest';
import {
  ActivityFailedError,
  ActivityTimeoutError,
  defineActivity,
  defineWorkflow,
  setActivityMethodOptions,
  Stent,
  WorkflowTimedOutError,
} from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

// ---- workflows ---------------------------------------------------------------------------------------

/** Notes when its body starts (no durable step before, so no replay can note it twice). */
class Stamp {
  constructor(private readonly starts: Map<string, number>) {}
  async run(label: string): Promise<string> {
    this.starts.set(label, Date.now());
    return label;
  }
}
defineWorkflow(Stamp);

/** Waits for a signal nobody sends; times out in memory (shorter than the harness's suspendAfter of 300ms). */
class ShortLived {
  async run(): Promise<string> {
    await Stent.waitForSignal('never');
    return 'unreachable';
  }
}
defineWorkflow(ShortLived, { maxDuration: '250ms' });

/** The same, with a maxDuration long enough to be suspended first. */
class SuspendedThenTimedOut {
  async run(): Promise<string> {
    await Stent.waitForSignal('never');
    return 'unreachable';
  }
}
defineWorkflow(SuspendedThenTimedOut, { maxDuration: '1500ms' });

/** A long class-level maxDuration, to be overridden at dispatch. */
class LongLived {
  async run(): Promise<string> {
    await Stent.waitForSignal('never');
    return 'unreachable';
  }
}
defineWorkflow(LongLived, { maxDuration: '1h' });

/** An activity that runs until its AbortSignal fires. */
class Patient {
  runs = 0;
  readonly aborts: Array<{ reason: unknown; afterMs: number }> = [];
  async wait(): Promise<string> {
    this.runs++;
    const { signal } = Stent.activity();
    const started = Date.now();
    await untilAborted(signal, 30_000);
    this.aborts.push({ reason: signal.reason, afterMs: Date.now() - started });
    throw signal.reason ?? new Error('not aborted');
  }
}
defineActivity(Patient, { retry: { maxAttempts: 3, initialDelay: '20ms', jitter: false } });

class PatientFlow {
  constructor(private readonly patient: Patient) {}
  async run(): Promise<string> {
    return this.patient.wait();
  }
}
defineWorkflow(PatientFlow, { maxDuration: '400ms' });

/** Attempts before `fastFrom` overrun the 200ms timeout (and wait for their AbortSignal); later ones return at once. */
class Sluggish {
  readonly starts: number[] = [];
  readonly aborts: Array<{ attempt: number; reason: unknown; afterMs: number; at: number }> = [];
  async op(fastFrom: number): Promise<string> {
    const { attempt, signal } = Stent.activity();
    this.starts.push(attempt);
    if (attempt >= fastFrom) return `done on attempt ${attempt}`;
    const started = Date.now();
    await untilAborted(signal, 30_000);
    this.aborts.push({ attempt, reason: signal.reason, afterMs: Date.now() - started, at: Date.now() });
    return `late result of attempt ${attempt}`;
  }
}
setActivityMethodOptions(Sluggish.prototype, 'op', { timeout: '200ms', retry: { maxAttempts: 3, initialDelay: '20ms', jitter: false } });
defineActivity(Sluggish);

class SluggishFlow {
  constructor(private readonly sluggish: Sluggish) {}
  async run(fastFrom: number, catchIt: boolean): Promise<unknown> {
    if (!catchIt) return this.sluggish.op(fastFrom);
    try {
      return await this.sluggish.op(fastFrom);
    } catch (error) {
      const failed = error as ActivityFailedError;
      return {
        isActivityFailed: error instanceof ActivityFailedError,
        causeIsTimeout: failed.cause instanceof ActivityTimeoutError,
        attempts: failed.attempts,
        activityName: failed.activityName,
      };
    }
  }
}
defineWorkflow(SluggishFlow);

function untilAborted(signal: AbortSignal, maxMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, maxMs);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

describe.each(DIALECTS)('time-outs and delays on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  // ---- delay -----------------------------------------------------------------------------------------

  it('a dispatch with a delay does not start before the delay, then runs', async () => {
    const starts = new Map<string, number>();
    harness = await createHarness(dialect, [new Stamp(starts)]);
    const before = Date.now();
    const delayed = await harness.executor.dispatch(Stamp, ['delayed'], { delay: '2s' });
    const now = await harness.executor.dispatch(Stamp, ['now']);
    const info = await harness.executor.getExecution(delayed);
    expect(info.wakeAt!.getTime()).toBeGreaterThanOrEqual(before + 2000);

    // the undelayed one runs at once on the same worker, the delayed one holds back
    expect((await harness.executor.waitFor(now, { timeout: '30s' })).value).toBe('now');
    expect(starts.get('now')! - before).toBeLessThan(2000);

    const result = await harness.executor.waitFor(delayed, { timeout: '30s' });
    expect(result.value).toBe('delayed');
    expect(starts.get('delayed')!).toBeGreaterThanOrEqual(before + 2000);
    const done = await harness.executor.getExecution(delayed);
    expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(before + 2000);
  });

  // ---- maxDuration -----------------------------------------------------------------------------------

  it('workflow maxDuration ends the execution as timed_out and waitFor returns a Result with WorkflowTimedOutError', async () => {
    harness = await createHarness(dialect, [new ShortLived()]);
    const id = await harness.executor.dispatch(ShortLived, []);
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    expect(result.ok).toBe(false);
    expect(result.state).toBe('timed_out');
    expect(result.error).toBeInstanceOf(WorkflowTimedOutError);
    expect((result.error as WorkflowTimedOutError).executionId).toBe(id);

    const info = await harness.executor.getExecution(id);
    expect(info.state).toBe('timed_out');
    expect(info.finishedAt!.getTime() - info.createdAt.getTime()).toBeGreaterThanOrEqual(250);
    expect(info.deadlineAt!.getTime()).toBe(info.createdAt.getTime() + 250);
    // the wait it was in is cancelled, not left waiting
    const journal = await harness.executor.getJournal(id);
    expect(journal).toHaveLength(1);
    expect(journal[0]).toMatchObject({ kind: 'signal', name: 'never', state: 'cancelled' });
    // the error reports the configured limit
    expect((result.error as WorkflowTimedOutError).maxDurationMs).toBe(250);
  });

  it('workflow maxDuration also ends an execution that was suspended out of memory', async () => {
    harness = await createHarness(dialect, [new SuspendedThenTimedOut()]);
    const suspended = new Set<string>();
    harness.executor.events.on('execution.suspended', ({ executionId }: { executionId: string }) => suspended.add(executionId));
    const id = await harness.executor.dispatch(SuspendedThenTimedOut, []);
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    expect(suspended.has(id)).toBe(true);
    expect(result.ok).toBe(false);
    expect(result.state).toBe('timed_out');
    expect(result.error).toBeInstanceOf(WorkflowTimedOutError);
    const info = await harness.executor.getExecution(id);
    expect(info.state).toBe('timed_out');
    expect(info.finishedAt!.getTime() - info.createdAt.getTime()).toBeGreaterThanOrEqual(1500);
  });

  it('the dispatch maxDuration option sets (and overrides) the limit of that execution only', async () => {
    harness = await createHarness(dialect, [new LongLived()]);
    const short = await harness.executor.dispatch(LongLived, [], { maxDuration: '300ms' });
    const long = await harness.executor.dispatch(LongLived, []);
    const result = await harness.executor.waitFor(short, { timeout: '30s' });
    expect(result.state).toBe('timed_out');
    expect(result.error).toBeInstanceOf(WorkflowTimedOutError);
    const info = await harness.executor.getExecution(short);
    expect(info.finishedAt!.getTime() - info.createdAt.getTime()).toBeGreaterThanOrEqual(300);

    const other = await harness.executor.getExecution(long);
    expect(['pending', 'running']).toContain(other.state);
    expect(other.deadlineAt!.getTime()).toBe(other.createdAt.getTime() + 3_600_000);
  });

  it('maxDuration counts from when the execution may start, not from a delayed dispatch', async () => {
    const starts = new Map<string, number>();
    harness = await createHarness(dialect, [new Stamp(starts)]);
    const id = await harness.executor.dispatch(Stamp, ['late'], { delay: '1500ms', maxDuration: '1s' });
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    expect(result.state).toBe('completed');
    expect(result.value).toBe('late');
  });

  it("a time-out fires the AbortSignal of the execution's running activity, which is not run again", async () => {
    const patient = new Patient();
    harness = await createHarness(dialect, [patient, new PatientFlow(patient)]);
    const id = await harness.executor.dispatch(PatientFlow, []);
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    expect(result.state).toBe('timed_out');

    const [abort] = await waitUntil(() => (patient.aborts.length > 0 ? patient.aborts : undefined), 'the activity to see its AbortSignal fire');
    expect(abort!.afterMs).toBeLessThan(20_000);
    const step = await waitUntil(async () => {
      const [s] = await harness.executor.getJournal(id);
      return s && s.state !== 'running' && s.state !== 'pending' ? s : undefined;
    }, 'the aborted step to settle');
    expect(['cancelled', 'failed']).toContain(step.state);
    expect(patient.runs).toBe(1);
    expect((await harness.executor.getExecution(id)).state).toBe('timed_out');
  });

  // ---- activity timeout ------------------------------------------------------------------------------

  it('an activity timeout fires the AbortSignal, counts as a failed attempt and is retried per policy', async () => {
    const sluggish = new Sluggish();
    harness = await createHarness(dialect, [sluggish, new SluggishFlow(sluggish)]);
    const dispatchedAt = Date.now();
    const id = await harness.executor.dispatch(SluggishFlow, [2, false]);
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    expect(result.ok).toBe(true);
    expect(result.value).toBe('done on attempt 2');
    expect(sluggish.starts).toEqual([1, 2]);

    await waitUntil(() => sluggish.aborts.length === 1, 'the first attempt to see its AbortSignal');
    const [abort] = sluggish.aborts;
    expect(abort!.attempt).toBe(1);
    expect(abort!.reason).toBeInstanceOf(ActivityTimeoutError);
    // Not before the 200 ms time-out: counted from the dispatch, since the attempt's timer starts before
    // the body does (on a loaded machine the body's own start can come tens of ms later).
    expect(abort!.at - dispatchedAt).toBeGreaterThanOrEqual(199);
    const [step] = await harness.executor.getJournal(id);
    expect(step).toMatchObject({ state: 'completed', attempts: 2, result: 'done on attempt 2' });
  });

  it('when every attempt times out the workflow gets ActivityFailedError caused by ActivityTimeoutError', async () => {
    const sluggish = new Sluggish();
    harness = await createHarness(dialect, [sluggish, new SluggishFlow(sluggish)]);
    const caught = await harness.executor.dispatch(SluggishFlow, [99, true]);
    const result = await harness.executor.waitFor(caught, { timeout: '30s' });
    expect(result.value).toEqual({ isActivityFailed: true, causeIsTimeout: true, attempts: 3, activityName: 'Sluggish.op' });
    expect(sluggish.starts).toEqual([1, 2, 3]);
    await waitUntil(() => sluggish.aborts.length === 3, 'every attempt to see its AbortSignal');
    expect(sluggish.aborts.every((a) => a.reason instanceof ActivityTimeoutError)).toBe(true);

    // uncaught, it fails the execution with the same error
    const uncaught = await harness.executor.dispatch(SluggishFlow, [99, false]);
    const failed = await harness.executor.waitFor(uncaught, { timeout: '30s' });
    expect(failed.ok).toBe(false);
    expect(failed.state).toBe('failed');
    expect(failed.error).toBeInstanceOf(ActivityFailedError);
    expect((failed.error as Error).cause).toBeInstanceOf(ActivityTimeoutError);
    const [step] = await harness.executor.getJournal(uncaught);
    expect(step).toMatchObject({ state: 'failed', attempts: 3 });
    expect(step!.error).toBeInstanceOf(ActivityTimeoutError);
  });
});
