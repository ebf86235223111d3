/** A timer set through a Clock. */
export interface Timer {
  /** Stops the timer; harmless once it fired. */
  cancel(): void;
  /** Lets the process exit while this timer waits (a no-op where there is no process to keep alive). */
  unref(): void;
}

/**
 * The engine's only source of time: every timestamp it records and every timer it sets (sleeps, signal
 * and activity time-outs, retry back-offs, delays, maxDuration, idle and suspend thresholds, polling,
 * heartbeats, lease checks) go through it, so a manual clock can drive them all (see ManualClock).
 */
export interface Clock {
  /** Epoch milliseconds (UTC). */
  now(): number;
  /** Calls `callback` once, `ms` from now (at once, on a later macrotask, when `ms` <= 0). */
  setTimer(ms: number, callback: () => void): Timer;
}

/** Longest delay Node's setTimeout takes; longer waits are chained. */
const MAX_TIMEOUT_MS = 2_147_483_647;

class SystemTimer implements Timer {
  private handle: NodeJS.Timeout | undefined;
  private cancelled = false;
  private unrefed = false;

  constructor(
    private readonly dueAt: number,
    private readonly callback: () => void,
  ) {
    this.arm();
  }

  private arm(): void {
    const left = this.dueAt - Date.now();
    this.handle = setTimeout(() => {
      if (this.cancelled) return;
      // Not before the due time as now() reads it: setTimeout counts on the event loop's monotonic
      // millisecond, which can run out up to a millisecond before Date.now() reaches dueAt (a maxDuration
      // would then end an execution before its deadline). A wait beyond setTimeout's range goes on in
      // parts the same way; only the last one calls back.
      if (this.dueAt - Date.now() > 0) this.arm();
      else this.callback();
    }, Math.min(Math.max(0, left), MAX_TIMEOUT_MS));
    if (this.unrefed) this.handle.unref();
  }

  cancel(): void {
    this.cancelled = true;
    if (this.handle) clearTimeout(this.handle);
  }

  unref(): void {
    this.unrefed = true;
    this.handle?.unref();
  }
}

/** The real time of this process. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, callback) => new SystemTimer(Date.now() + ms, callback),
};

/** A promise that resolves `ms` from now on `clock`. */
export function sleepOn(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(ms, resolve));
}

/**
 * Calls `callback` every `ms` on `clock` until cancelled. The next call is armed before this one runs, so a
 * slow callback does not stretch the period; after a jump of the clock it fires once, not once per period
 * missed.
 */
export function repeatOn(clock: Clock, ms: number, callback: () => void): Timer {
  let current: Timer | undefined;
  let cancelled = false;
  let unrefed = false;
  const arm = (): void => {
    current = clock.setTimer(ms, () => {
      if (cancelled) return;
      arm();
      callback();
    });
    if (unrefed) current.unref();
  };
  arm();
  return {
    cancel() {
      cancelled = true;
      current?.cancel();
    },
    unref() {
      unrefed = true;
      current?.unref();
    },
  };
}
