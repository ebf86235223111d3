import type { Duration, StentCodec, WorkerOptions } from '../core/index.js';
import type { StentDatabaseOptions } from '../persistence/index.js';
import type { OpenTelemetryOptions } from '../telemetry/index.js';

export interface StentTestingOptions {
  /** Where the clock starts (default 2030-01-01T00:00:00Z). */
  start?: number | Date;
  /** Default an in-memory SQLite database, new for each testing module. */
  database?: StentDatabaseOptions;
  /** PostgreSQL schema, when `database` is PostgreSQL. */
  schema?: string;
  /** Worker settings over the testing defaults (see TESTING_WORKER). */
  worker?: WorkerOptions;
  /** OpenTelemetry as in StentModule (default: the global providers when @opentelemetry/api is installed). */
  telemetry?: false | OpenTelemetryOptions;
  /** Real time drain() waits for the engine to settle before it throws DrainTimeoutError (default '30s'). */
  drainTimeout?: Duration;
  /** The application's payload codec, to test workflows through it (see StentModule's codec). */
  codec?: StentCodec;
}

/**
 * The worker a testing module runs: runs waiting on timers, signals or children are suspended at once
 * (so the database, not memory, says what is due), and stopping does not wait for activity bodies on a
 * clock that does not move. The lease is what a simulated crash costs in (manual) time. No suspended run
 * is kept in memory: every wake replays the journal, so a test meets the non-determinism a replay after a
 * restart would.
 */
export const TESTING_WORKER: WorkerOptions = {
  concurrency: 8,
  pollInterval: '100ms',
  maxPollInterval: '1s',
  lease: '1m',
  suspendAfter: 0,
  keepSuspended: 0,
  shutdownTimeout: 0,
};
