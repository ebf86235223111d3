import type { Clock } from '../clock/clock.js';
import { ChangeProbe, CHANGE_PROBE_MS } from './change-probe.js';
import { PollTimer } from './poll-timer.js';

/**
 * When the claim loop looks again with no wake event: a poll that backs off from pollInterval towards
 * maxPollInterval while rounds find nothing, and, where the store marks other processes' writes (SQLite:
 * HotPathStore.writesElsewhere), a change probe that brings the poll forward when another process wrote.
 */
export class IdlePolls {
  private readonly timer: PollTimer;
  private readonly probe: ChangeProbe | undefined;
  /** Polls in a row that found nothing: the next one waits pollMs * 2^idle, at most maxPollMs. */
  private idle = 0;

  constructor(
    clock: Clock,
    private readonly settings: { pollMs: number; maxPollMs: number },
    writesElsewhere: (() => Promise<number>) | undefined,
    onPoll: () => void,
    onOtherWrites: () => void,
  ) {
    this.timer = new PollTimer(clock, onPoll);
    this.probe = writesElsewhere
      ? new ChangeProbe(clock, Math.min(CHANGE_PROBE_MS, settings.pollMs), writesElsewhere, () => {
          // What another process wrote is unknown: its round is a poll's, and polls start over from the shortest wait.
          this.idle = 0;
          onOtherWrites();
        })
      : undefined;
  }

  /**
   * Before the loop's first round: the probe's first reading (see ChangeProbe.begin). Undefined once taken
   * or without a probe, so the rounds after it await nothing.
   */
  ready(): Promise<void> | undefined {
    return this.probe && !this.probe.begun ? this.probe.begin() : undefined;
  }

  /** A round found work, or work was announced: the next poll starts over from the shortest wait. */
  reset(): void {
    this.idle = 0;
  }

  /** A round was asked for: the poll is not due until that round ends and sets the next (the timer is kept). */
  unset(): void {
    this.timer.unset();
  }

  /** A round found nothing: the next poll, one back-off step further off, and the probe until then. */
  scheduleNext(): void {
    const { pollMs, maxPollMs } = this.settings;
    const wait = Math.min(maxPollMs, pollMs * 2 ** Math.min(this.idle, 10));
    this.idle++;
    this.timer.dueIn(wait);
    if (this.probe && wait > this.probe.everyMs) this.probe.start();
  }

  stop(): void {
    this.timer.stop();
    this.probe?.stop();
  }
}
