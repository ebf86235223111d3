import { describe, expect, it } from 'vitest';
import { systemClock } from 'nestjs-stent';

describe('the system clock', () => {
  it('never calls a timer back before its due time as now() reads it', async () => {
    // setTimeout alone fires before Date.now() reaches the due time in a few per cent of short waits
    // (its event-loop millisecond and Date.now()'s are not aligned): 400 in a row all but surely catch one.
    const early: number[] = [];
    for (let i = 0; i < 400; i++) {
      const dueAt = systemClock.now() + 2;
      await new Promise<void>((resolve) =>
        systemClock.setTimer(2, () => {
          const now = systemClock.now();
          if (now < dueAt) early.push(dueAt - now);
          resolve();
        }),
      );
    }
    expect(early).toEqual([]);
  });

});
