import { parseDuration, type Duration } from '../api/duration.js';
import type { Clock, Timer } from './clock.js';

interface Pending {
  dueAt: number;
  /** Order of creation: timers due at the same time fire in the order they were set. */
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. `advance` jumps time forward and fires, in due order, every timer
 * that has come due, as a pause of the whole process would: a periodic timer fires once per jump, not once
 * per period missed. A timer set already due (zero delay, or a time in the past) fires on the next
 * macrotask without any advance, so what is due goes on while time stands still. Everything the engine
 * does in between (database reads and writes) takes real time; tests wait for it with conditions.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Set<Pending>();

  constructor(start: number | Date = Date.UTC(2030, 0, 1)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, callback: () => void): Timer {
    const timer: Pending = { dueAt: this.current + Math.max(0, ms), seq: this.seq++, callback, cancelled: false };
    this.timers.add(timer);
    if (timer.dueAt <= this.current) setImmediate(() => this.fire(timer));
    return {
      cancel: () => {
        timer.cancelled = true;
        this.timers.delete(timer);
      },
      unref: () => undefined,
    };
  }

  /** Moves time forward by `duration` and fires the timers that came due, earliest first. */
  advance(duration: Duration): void {
    this.advanceTo(this.current + parseDuration(duration));
  }

  /** Moves time forward to `time` (never back) and fires the timers that came due, earliest first. */
  advanceTo(time: number | Date): void {
    const target = typeof time === 'number' ? time : time.getTime();
    if (target > this.current) this.current = target;
    // Timers set by these callbacks for a time still to come wait for the next advance.
    const due = [...this.timers].filter((timer) => timer.dueAt <= this.current).sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
    for (const timer of due) this.fire(timer);
  }

  /** Timers waiting to fire. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** When the earliest waiting timer comes due, or null if none waits. */
  nextDueAt(): number | null {
    let next: number | null = null;
    for (const timer of this.timers) if (next === null || timer.dueAt < next) next = timer.dueAt;
    return next;
  }

  private fire(timer: Pending): void {
    if (timer.cancelled || !this.timers.delete(timer)) return;
    timer.callback();
  }
}
