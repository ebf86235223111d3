import type { Clock, Timer } from '../clock/clock.js';

/** How often the probe reads while a poll is further away than this (capped by the worker's pollInterval). */
export const CHANGE_PROBE_MS = 25;

/**
 * Between the claim loop's polls, asks the store every few milliseconds whether another process wrote to
 * the database (HotPathStore.changedElsewhere); a change brings the poll forward. For stores whose
 * processes hear nothing of each other (SQLite): there a dispatch, a result or a freed key from another
 * process was found only by the next poll, which backs off to maxPollInterval (1 s by default) on an idle
 * worker. The read is one pragma, far cheaper than the claim round it stands in for.
 */
export class ChangeProbe {
  private timer: Timer | undefined;
  /** Bumped by stop(): a read still in flight from before is ignored when it returns. */
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    readonly everyMs: number,
    private readonly changed: () => Promise<boolean>,
    private readonly onChange: () => void,
  ) {}

  /** The first reading is taken (see begin). */
  begun = false;

  /**
   * Takes the first reading. The claim loop awaits it before its first round, so every commit by another
   * process after that round's queries differs from a reading the probe compares with; the first timed
   * read comes only after the round, and a commit between the two would otherwise be the baseline.
   */
  async begin(): Promise<void> {
    this.begun = true;
    await this.changed().catch(() => undefined);
  }

  /** Reads every `everyMs` until a change is seen (then onChange, once) or stop(). */
  start(): void {
    if (this.timer) return;
    const generation = this.generation;
    this.timer = this.clock.setTimer(this.everyMs, () => {
      this.changed().then(
        (changed) => {
          if (generation !== this.generation) return;
          this.timer = undefined;
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
