import type { NewExecution } from './records.js';

/** A debounced dispatch: its key (per workflow), the quiet period, the longest wait from the first dispatch. */
export interface DebounceRequest {
  key: string;
  delayMs: number;
  maxWaitMs: number | null;
}

/** A singleton dispatch: its key (per workflow), and whether a dispatch while one goes on waits its turn or is refused. */
export interface SingletonRequest {
  key: string;
  wait: boolean;
}

/** Dispatches that share a key with others: debounced ones collapse, singletons take turns. */
export interface DispatchKeyStore {
  /**
   * Creates the execution, or, when the key's execution has not started yet, gives it these arguments and
   * moves its start to now + delay (at most first dispatch + maxWait). Returns the id that runs.
   */
  createDebounced(execution: NewExecution, debounce: DebounceRequest, now: number): Promise<{ id: string; created: boolean }>;
  /**
   * Creates the execution as the key's holder when no execution of the key goes on; otherwise queues it
   * behind (not due until released) or throws SingletonConflictError.
   */
  createSingleton(execution: NewExecution, singleton: SingletonRequest, now: number): Promise<{ id: string; queued: boolean }>;
  /** For every key whose holder ended, makes its oldest queued execution due and the holder; says how many, and whether any still wait. */
  releaseSingletons(now: number): Promise<SingletonRelease>;
}

/** What a look at the singleton keys did: turns handed on, and whether any execution still waits for one. */
export interface SingletonRelease {
  released: number;
  waiting: boolean;
}
