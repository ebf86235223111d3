/** Wall-clock source of the engine, in epoch milliseconds (UTC). Tests swap in a manual clock. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
