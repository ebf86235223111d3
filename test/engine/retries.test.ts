import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ActivityFailedError,
  ActivityTimeoutError,
  defineActivity,
  defineWorkflow,
  ManualClock,
  NonRetryableError,
  Result,
  setActivityMethodOptions,
  Stent,
  type StentExecutor,
} from 'nestjs-stent';
import { BACKENDS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { nudgeUntil } from '../support/manual-time.js';
import { openInspector } from '../support/inspector.js';
import { waitUntil } from '../support/wait.js';

// ---- eventually succeeding activity with growing delays ---------------------------------------

class Flaky {
  starts: Array<{ attempt: number; at: number }> = [];
  /** `now`: the executor's clock, so that the starts are times on the clock that schedules the retries. */
  constructor(private readonly now: () => number = Date.now) {}
  async op(failures: number): Promise<string> {
    const { attempt } = Stent.activity();
    this.starts.push({ attempt, at: this.now() });
    if (this.starts.length <= failures) throw new Error(`transient failure #${attempt}`);
    return `ok on attempt ${attempt}`;
  }
}
const FLAKY_INITIAL_MS = 300;
defineActivity(Flaky, { retry: { maxAttempts: 4, initialDelay: FLAKY_INITIAL_MS, backoffFactor: 2, maxDelay: '10s', jitter: false } });

class FlakyFlow {
  constructor(private readonly acts: Flaky) {}
  async run(failures: number): Promise<string> {
    return this.acts.op(failures);
  }
}
defineWorkflow(FlakyFlow);

// ---- non-retryable errors ---------------------------------------------------------------------

class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}
class FatalError extends Error {}
class WorseFatalError extends FatalError {}
class PaymentDeclined extends NonRetryableError {}

type PickyMethod = 'byName' | 'byClass' | 'bySubclass' | 'marked' | 'plain';

class Picky {
  calls: Record<string, number> = {};
  private count(name: string): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }
  async byName(): Promise<void> {
    this.count('byName');
    throw new ValidationError('bad input');
  }
  async byClass(): Promise<void> {
    this.count('byClass');
    throw new FatalError('fatal');
  }
  async bySubclass(): Promise<void> {
    this.count('bySubclass');
    throw new WorseFatalError('even worse');
  }
  async marked(): Promise<void> {
    this.count('marked');
    throw new PaymentDeclined('card declined');
  }
  async plain(): Promise<void> {
    this.count('plain');
    throw new Error('just flaky');
  }
}
defineActivity(Picky, { retry: { maxAttempts: 4, initialDelay: '30ms', backoffFactor: 2, jitter: false, nonRetryable: ['ValidationError', FatalError] } });

class PickyFlow {
  constructor(private readonly acts: Picky) {}
  async run(method: PickyMethod): Promise<{ caught: boolean; attempts: number; activityName: string; causeName: string; causeMessage: string }> {
    try {
      await this.acts[method]();
      throw new Error('unreachable');
    } catch (error) {
      if (!(error instanceof ActivityFailedError)) throw error;
      const cause = error.cause as Error;
      return { caught: true, attempts: error.attempts, activityName: error.activityName, causeName: cause.name, causeMessage: cause.message };
    }
  }
}
defineWorkflow(PickyFlow);

// ---- saga: compensate after the last attempt --------------------------------------------------

class Booking {
  bookAttempts = 0;
  released: string[] = [];
  async book(seat: string): Promise<string> {
    this.bookAttempts++;
    throw new Error(`no seat ${seat} left`);
  }
  async release(seat: string): Promise<string> {
    this.released.push(seat);
    return `released ${seat}`;
  }
}
defineActivity(Booking, { retry: { maxAttempts: 3, initialDelay: '30ms', backoffFactor: 2, jitter: false } });

class BookingFlow {
  constructor(private readonly acts: Booking) {}
  async run(seat: string): Promise<Result<string, { compensation: string; attempts: number; message: string }>> {
    try {
      return Result.ok(await this.acts.book(seat));
    } catch (error) {
      if (!(error instanceof ActivityFailedError)) throw error;
      const compensation = await this.acts.release(seat);
      return Result.error({ compensation, attempts: error.attempts, message: (error.cause as Error).message });
    }
  }
}
defineWorkflow(BookingFlow);

// ---- single attempt ---------------------------------------------------------------------------

class OneShot {
  calls = 0;
  async fire(target: string): Promise<never> {
    this.calls++;
    throw new Error(`missed ${target}`);
  }
}
defineActivity(OneShot, { retry: { maxAttempts: 1, initialDelay: '10ms' } });

class OneShotFlow {
  constructor(private readonly acts: OneShot) {}
  async run(target: string): Promise<void> {
    await this.acts.fire(target);
  }
}
defineWorkflow(OneShotFlow);

// ---- per-attempt timeout ----------------------------------------------------------------------

class Slow {
  attempts: number[] = [];
  aborts: Array<{ attempt: number; reason: unknown; at: number }> = [];
  /** First attempt hangs until its signal fires; the second answers at once. */
  async hangOnce(): Promise<string> {
    const scope = Stent.activity();
    this.attempts.push(scope.attempt);
    if (scope.attempt > 1) return `answered on attempt ${scope.attempt}`;
    await this.untilAborted(scope.signal, scope.attempt);
    return 'too late';
  }
  /** Hangs on every attempt. */
  async hangAlways(): Promise<string> {
    const scope = Stent.activity();
    this.attempts.push(scope.attempt);
    await this.untilAborted(scope.signal, scope.attempt);
    return 'too late';
  }
  private untilAborted(signal: AbortSignal, attempt: number): Promise<void> {
    return new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        this.aborts.push({ attempt, reason: signal.reason, at: Date.now() });
        resolve();
      });
    });
  }
}
setActivityMethodOptions(Slow.prototype, 'hangAlways', { timeout: '200ms', retry: { maxAttempts: 1 } });
defineActivity(Slow, { timeout: '300ms', retry: { maxAttempts: 2, initialDelay: '20ms', jitter: false } });

class SlowFlow {
  constructor(private readonly acts: Slow) {}
  async run(method: 'hangOnce' | 'hangAlways'): Promise<string> {
    try {
      return await this.acts[method]();
    } catch (error) {
      if (error instanceof ActivityFailedError) return `failed: ${(error.cause as Error).name} after ${error.attempts}`;
      throw error;
    }
  }
}
defineWorkflow(SlowFlow);

// ---- tests ------------------------------------------------------------------------------------

describe.each(BACKENDS)('retries, dead letters and timeouts on %s', (backend) => {
  let h: ExecutorSet;

  beforeEach(async () => {
    h = await ExecutorSet.create(backend);
  });

  afterEach(async () => {
    await h.dispose();
  });

  it('retries until success with delays growing by the backoff factor', async () => {
    // On a manual clock, so the delays are measured exactly, whatever the load adds in real time: time
    // stands still while an attempt fails and its retry is scheduled, and moves only to the retry's due time.
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const acts = new Flaky(() => clock.now());
    const ex = await h.executor([acts, new FlakyFlow(acts)], { ...QUICK_WORKER, lease: '1h' }, true, clock);
    const id = await ex.dispatch(FlakyFlow, [3]);
    const inspector = await openInspector(h.db);
    h.onCleanup(() => inspector.close());
    for (let failed = 1; failed <= 3; failed++) {
      await waitUntil(async () => {
        const step = (await ex.getJournal(id)).find((entry) => entry.kind === 'activity');
        return step?.state === 'pending' && step.attempts === failed;
      }, `attempt ${failed} to fail and wait for its retry`);
      // The clock has not moved since the attempt started: the retry is due exactly one back-off later.
      const due = await inspector.scalar(`SELECT available_at FROM ${inspector.t.steps} WHERE execution_id = ? AND kind = 'activity'`, [id]);
      expect(due - acts.starts[failed - 1]!.at, `back-off after attempt ${failed}`).toBe(FLAKY_INITIAL_MS * 2 ** (failed - 1));
      expect(acts.starts).toHaveLength(failed);
      clock.advanceTo(due);
      // Steps of 1 ms only while a claim round that began before the jump still has its next poll to arm.
      await nudgeUntil(clock, () => acts.starts.length === failed + 1, `attempt ${failed + 1} to start`, 1);
    }
    const result = await ex.waitFor<string>(id, { timeout: '30s' });
    expect(result.ok).toBe(true);
    expect(result.value).toBe('ok on attempt 4');
    expect(acts.starts.map((s) => s.attempt)).toEqual([1, 2, 3, 4]);
    // Each attempt started once its back-off was over, never before, and well before the next back-off's
    // length (the clock moved only to the due time, then by 1 ms steps each 10 ms of real time at most).
    const gaps = acts.starts.slice(1).map((s, i) => s.at - acts.starts[i]!.at);
    [FLAKY_INITIAL_MS, FLAKY_INITIAL_MS * 2, FLAKY_INITIAL_MS * 4].forEach((nominal, i) => {
      expect(gaps[i], `gap before attempt ${i + 2}`).toBeGreaterThanOrEqual(nominal);
      expect(gaps[i], `gap before attempt ${i + 2}`).toBeLessThan(nominal * 1.5);
    });

    const journal = await ex.getJournal(id);
    expect(journal).toHaveLength(1);
    expect(journal[0]!.attempts).toBe(4);
    expect(journal[0]!.state).toBe('completed');
    expect((await ex.listDeadLetters()).total).toBe(0);
  });

  it.each<[PickyMethod, string]>([
    ['byName', 'bad input'],
    ['byClass', 'fatal'],
    ['bySubclass', 'even worse'],
    ['marked', 'card declined'],
  ])('does not retry a non-retryable error (%s)', async (method, causeMessage) => {
    const acts = new Picky();
    const ex = await h.executor([acts, new PickyFlow(acts)]);
    const id = await ex.dispatch(PickyFlow, [method]);
    const result = await ex.waitFor(id, { timeout: '20s' });
    expect(result.state).toBe('completed');
    expect(result.value).toMatchObject({ caught: true, attempts: 1, activityName: `Picky.${method}`, causeMessage });
    expect(acts.calls[method]).toBe(1);
  });

  it('retries an ordinary error from the same activity class up to maxAttempts', async () => {
    const acts = new Picky();
    const ex = await h.executor([acts, new PickyFlow(acts)]);
    const id = await ex.dispatch(PickyFlow, ['plain']);
    const result = await ex.waitFor(id, { timeout: '20s' });
    expect(result.value).toMatchObject({ caught: true, attempts: 4, activityName: 'Picky.plain', causeMessage: 'just flaky' });
    expect(acts.calls.plain).toBe(4);
  });

  it('throws a catchable ActivityFailedError after the last attempt, so the workflow can compensate', async () => {
    const acts = new Booking();
    const ex = await h.executor([acts, new BookingFlow(acts)]);
    const id = await ex.dispatch(BookingFlow, ['12A']);
    const result = await ex.waitFor(id, { timeout: '20s' });
    expect(result.state).toBe('completed');
    expect(result.ok).toBe(false);
    expect(result.error).toEqual({ compensation: 'released 12A', attempts: 3, message: 'no seat 12A left' });
    expect(acts.bookAttempts).toBe(3);
    expect(acts.released).toEqual(['12A']);
  });

  it('lists the exhausted task as a dead letter with its error, attempts and arguments', async () => {
    const acts = new Booking();
    const ex = await h.executor([acts, new BookingFlow(acts)]);
    const id = await ex.dispatch(BookingFlow, ['7C']);
    await ex.waitFor(id, { timeout: '20s' });
    const { items, total } = await ex.listDeadLetters();
    expect(total).toBe(1);
    const letter = items[0]!;
    expect(letter.executionId).toBe(id);
    expect(letter.name).toBe('Booking.book');
    expect(letter.attempts).toBe(3);
    expect(letter.args).toEqual(['7C']);
    expect(letter.error).toBeInstanceOf(Error);
    expect(letter.error!.message).toBe('no seat 7C left');
    expect(letter.error!.stack).toContain('no seat 7C left');
    expect(typeof letter.reason).toBe('string');
    expect(letter.reason.length).toBeGreaterThan(0);
    expect(letter.createdAt).toBeInstanceOf(Date);
  });

  it('with maxAttempts: 1 runs once and fails the workflow that does not catch', async () => {
    const acts = new OneShot();
    const ex = await h.executor([acts, new OneShotFlow(acts)]);
    const id = await ex.dispatch(OneShotFlow, ['moon']);
    const result = await ex.waitFor(id, { timeout: '20s' });
    expect(result.state).toBe('failed');
    expect(result.ok).toBe(false);
    const error = result.error as ActivityFailedError;
    expect(error).toBeInstanceOf(ActivityFailedError);
    expect(error.attempts).toBe(1);
    expect(error.activityName).toBe('OneShot.fire');
    expect(error.message).toContain('missed moon');
    expect(acts.calls).toBe(1);
    const letters = await ex.listDeadLetters();
    expect(letters.items.some((l) => l.executionId === id && l.name === 'OneShot.fire' && l.attempts === 1)).toBe(true);
  });

  /**
   * When each attempt started, as the worker tells it (before it arms the attempt's timeout): a time taken in
   * the body instead can come tens of milliseconds later on a loaded machine, and a timeout would seem early.
   */
  function attemptStarts(ex: StentExecutor): Map<number, number> {
    const starts = new Map<number, number>();
    ex.events.on('step.started', ({ attempt }) => starts.set(attempt, Date.now()));
    return starts;
  }

  it('a per-attempt timeout fails the attempt and fires its AbortSignal; the retry succeeds', async () => {
    const acts = new Slow();
    const ex = await h.executor([acts, new SlowFlow(acts)]);
    const starts = attemptStarts(ex);
    const id = await ex.dispatch(SlowFlow, ['hangOnce']);
    const result = await ex.waitFor(id, { timeout: '20s' });
    expect(result.value).toBe('answered on attempt 2');
    expect(acts.attempts).toEqual([1, 2]);
    expect(acts.aborts).toHaveLength(1);
    expect(acts.aborts[0]!.attempt).toBe(1);
    expect(acts.aborts[0]!.reason).toBeInstanceOf(ActivityTimeoutError);
    expect(acts.aborts[0]!.at - starts.get(1)!).toBeGreaterThanOrEqual(300);
    const journal = await ex.getJournal(id);
    expect(journal[0]!.attempts).toBe(2);
  });

  it('a method-level timeout on the last attempt reaches the workflow as ActivityFailedError', async () => {
    const acts = new Slow();
    const ex = await h.executor([acts, new SlowFlow(acts)]);
    const starts = attemptStarts(ex);
    const id = await ex.dispatch(SlowFlow, ['hangAlways']);
    const result = await ex.waitFor(id, { timeout: '20s' });
    expect(result.value).toBe('failed: ActivityTimeoutError after 1');
    expect(acts.attempts).toEqual([1]);
    expect(acts.aborts).toHaveLength(1);
    expect(acts.aborts[0]!.reason).toBeInstanceOf(ActivityTimeoutError);
    expect(acts.aborts[0]!.at - starts.get(1)!).toBeGreaterThanOrEqual(200);
    expect(acts.aborts[0]!.at - starts.get(1)!).toBeLessThan(5_000);
  });
});
