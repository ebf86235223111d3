import type { Clock } from '../clock/clock.js';

/**
 * Waits for a condition on the worker's own state (no attempts left, writes done, runs handed back), as
 * drain() does: each condition is checked again whenever the worker reports a change, never polled.
 */
export class SettleWaits {
  private readonly checks = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  /** Resolves once `condition` holds, or at `deadline` (on the engine's clock) if one is given. */
  until(condition: () => boolean, deadline?: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        timer?.cancel();
        this.checks.delete(check);
        resolve();
      };
      const check = (): void => {
        if (condition()) done();
      };
      const timer = deadline === undefined ? undefined : this.clock.setTimer(deadline - this.clock.now(), done);
      this.checks.add(check);
    });
  }

  /** What the conditions read may have changed: each looks again. */
  changed(): void {
    for (const check of [...this.checks]) check();
  }
}
