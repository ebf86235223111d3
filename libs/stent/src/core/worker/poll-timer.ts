import type { Clock, Timer } from '../clock/clock.js';

/**
 * The claim loop's poll: one due time at most, moved at every claim round, and one clock timer kept across
 * those moves. A timer that fires before the due time waits the rest; one that fires with no due time set
 * does nothing. Cancelled and set again at every round instead, it cost two changes of Node's timer lists
 * and a new timer per round, and a busy worker's rounds come one per result.
 */
export class PollTimer {
  private timer: Timer | undefined;
  /** When the timer fires (Infinity: none is set). */
  private timerAt = Infinity;
  /** When the poll is due (Infinity: none). */
  private dueAt = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: () => void,
  ) {}

  /** The poll is due `ms` from now. */
  dueIn(ms: number): void {
    this.dueAt = this.clock.now() + ms;
    // A timer kept from before that fires no later than this waits the rest when it fires.
    if (this.timer && this.timerAt <= this.dueAt) return;
    this.timer?.cancel();
    this.arm(ms);
  }

  /** No poll is due (a round was asked for; when it ends it sets the next one). The timer is kept. */
  unset(): void {
    this.dueAt = Infinity;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.dueAt = this.timerAt = Infinity;
  }

  private arm(ms: number): void {
    this.timerAt = this.clock.now() + ms;
    this.timer = this.clock.setTimer(ms, () => {
      this.timer = undefined;
      this.timerAt = Infinity;
      if (this.dueAt === Infinity) return;
      const left = this.dueAt - this.clock.now();
      if (left > 0) return this.arm(left);
      this.dueAt = Infinity;
      this.onDue();
    });
  }
}
