import type { Clock, Timer } from '../clock/clock.js';
import type { ClaimFilter } from '../store/index.js';

/**
 * Steps or starts that a rate window held back may be taken when the next window starts: this timer asks
 * the claim loop to look again then. One timer serves every rate-limited name, workflows and activities
 * alike, set for the earliest next window.
 */
export class RateWindowTimer {
  private timer: Timer | undefined;
  private timerAt = 0;

  constructor(
    private readonly clock: Clock,
    private readonly onWindow: () => void,
  ) {}

  /** A claim with `filter` came back short: look again at the start of its rate limits' next window. */
  lookAgainAfter(filter: ClaimFilter): void {
    let next = Infinity;
    for (const { rate } of filter.flow?.values() ?? []) {
      if (rate) next = Math.min(next, (Math.floor(filter.now / rate.perMs) + 1) * rate.perMs);
    }
    if (next === Infinity || (this.timer && this.timerAt <= next)) return;
    this.timer?.cancel();
    this.timerAt = next;
    this.timer = this.clock.setTimer(Math.max(0, next - this.clock.now()), () => {
      this.timer = undefined;
      this.onWindow();
    });
    this.timer.unref?.();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
