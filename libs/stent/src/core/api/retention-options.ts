import type { Duration } from './duration.js';

/** How long finished executions are kept, by final state; a state left out is kept for ever. */
export interface RetentionOptions {
  completed?: Duration;
  failed?: Duration;
  cancelled?: Duration;
  timed_out?: Duration;
  /** Worker rows not heard from for this long are removed. Default '7d'. */
  workers?: Duration;
  /** How often retention runs (once per period across all workers). Default '1h'. */
  interval?: Duration;
  /** Top-level executions removed per transaction. Default 200. */
  batchSize?: number;
}
