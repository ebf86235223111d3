import type { Clock, Timer } from '../clock/clock.js';

/** How often the probe reads while a poll is further away than this (capped by the worker's pollInterval). */
export const CHANGE_PROBE_MS = 25;

/**
 * Between the claim loop's polls, reads every few milliseconds the store's mark of other processes' writes
 * (HotPathStore.writesElsewhere); a reading that differs from the last brings the poll forward. For stores
 * whose processes hear nothing of each other (SQLite): there a dispatch, a result or a freed key from
 * another process was found only by the next poll, which backs off to maxPollInterval (1 s by default) on
 * an idle worker. The read is one pragma, far cheaper than the claim round it stands in for.
 */
export class ChangeProbe {
  private timer: Timer | undefined;
  /** Bumped by stop(): a read still in flight from before is ignored when it returns. */
  private generation = 0;
  /** The reading compared with; undefined until begin() took one. */
  private last: number | undefined;

  constructor(
    private readonly clock: Clock,
    readonly everyMs: number,
    private readonly read: () => Promise<number>,
    private readonly onChange: () => void,
  ) {}

  /** Whether begin() ran. */
  get begun(): boolean {
    return this.last !== undefined;
  }

  /**
   * Takes the first reading. The claim loop awaits it before its first round, so a commit by another
   * process after that round's queries always differs from a reading the probe compares with; taken at the
   * first timed read, which comes after the round, a commit between the two would be the baseline itself.
   */
  async begin(): Promise<void> {
    this.last = await this.read().catch(() => Number.NaN);
  }

  /** Reads every `everyMs` until a reading differs (then onChange, once) or stop(). */
  start(): void {
    if (this.timer) return;
    const generation = this.generation;
    this.timer = this.clock.setTimer(this.everyMs, () => {
      this.read().then(
        (reading) => {
          if (generation !== this.generation) return;
          this.timer = undefined;
          // NaN (no first reading) differs from everything: a poll's round, which costs nothing missed.
          const changed = reading !== this.last;
          this.last = reading;
          if (changed) this.onChange();
          else this.start();
        },
        // A failed read (the database closing, a lock held too long) leaves it to the poll.
        () => {
          if (generation === this.generation) this.timer = undefined;
        },
      );
    });
    this.timer.unref();
  }

  stop(): void {
    this.generation++;
    this.timer?.cancel();
    this.timer = undefined;
  }
}
