import { describe, expect, it } from 'vitest';
import { createStentStore, DatabaseUnavailableError, ManualClock } from 'nestjs-stent';

// Nothing listens on port 1: every attempt is refused at once, so only the retry schedule takes time.
const CLOSED = { type: 'postgres' as const, url: 'postgres://postgres@127.0.0.1:1/test' };

describe('connectTimeout', () => {
  it("'6s' keeps trying for about 6 s (not 3), then fails with a typed, retryable error", async () => {
    const warnings: string[] = [];
    const started = Date.now();
    const error = await createStentStore({ database: CLOSED, connectTimeout: '6s', logger: { warn: (m) => warnings.push(m) } }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ code: 'STENT_DATABASE_UNAVAILABLE', category: 'unavailable', retryable: true });
    expect(elapsed).toBeGreaterThanOrEqual(5_950);
    expect(elapsed).toBeLessThan(8_000);
    expect(warnings.length).toBe((error as DatabaseUnavailableError).attempts - 1);
  });

  it('defaults to 30 s, timed on the clock it is given (the last attempt is made at the deadline)', async () => {
    const clock = new ManualClock();
    const started = clock.now();
    const pauses: number[] = [];
    let outcome: unknown;
    const done = createStentStore({
      database: CLOSED,
      clock,
      logger: { warn: (m) => pauses.push(Number(/retrying in (\d+) ms/.exec(m)?.[1])) },
    }).then(
      () => (outcome = 'connected'),
      (error: unknown) => (outcome = error),
    );
    const deadline = Date.now() + 30_000;
    // Each pause is a timer on the manual clock, set as its warning is logged (the refused attempt's own
    // time limit, also a timer, is cancelled by then): move the clock to it.
    let advanced = 0;
    while (outcome === undefined && Date.now() < deadline) {
      const due = clock.nextDueAt();
      if (pauses.length > advanced && due !== null) {
        advanced++;
        clock.advanceTo(due);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await done;
    expect(outcome).toBeInstanceOf(DatabaseUnavailableError);
    expect(clock.now() - started).toBe(30_000);
    // 200 ms doubling to 5 s, the last pause cut to reach the deadline exactly.
    expect(pauses.slice(0, 6)).toEqual([200, 400, 800, 1_600, 3_200, 5_000]);
    expect(pauses.reduce((a, b) => a + b, 0)).toBe(30_000);
  });
});
