import type { DataSource } from 'typeorm';
import type { StentDatabaseOptions } from '../persistence/index.js';
import type { OpenTelemetryOptions } from '../telemetry/index.js';
import type { Clock, StentCodec, WorkerOptions } from '../core/index.js';

export interface StentModuleOptions {
  /** Connection settings for a database Stent opens itself (embedded SQLite file or PostgreSQL). */
  database?: StentDatabaseOptions;
  /** Or the application's own TypeORM DataSource (forRootAsync with inject: [getDataSourceToken()]). */
  dataSource?: DataSource;
  /** PostgreSQL schema for Stent's tables. */
  schema?: string;
  /** Worker settings; false for processes that only dispatch and query. */
  worker?: WorkerOptions | false;
  /**
   * How long an operation waits for an unreachable database (connecting again with back-off) before it
   * fails with DatabaseUnavailableError. Default '30s'. The application does not wait: it boots, and Stent
   * keeps trying to start in the background.
   */
  connectTimeout?: string | number;
  /**
   * PostgreSQL: how long an operation cut by a lost connection (a restart, a failover) is tried again,
   * where repeating it cannot apply it twice, before it fails with DatabaseUnavailableError. Default '5s'.
   */
  reconnectWindow?: string | number;
  /** Apply migrations at startup (default true). */
  migrate?: boolean;
  /**
   * Dispatch by name workflows this process has not registered when a live worker runs them (with that
   * worker's recorded defaults): for processes without the workflow code. Default false.
   */
  workflowsFromWorkers?: boolean;
  /**
   * OpenTelemetry spans and metrics through `@opentelemetry/api` (on by default when it is installed;
   * the application's SDK decides where they go): false turns them off, or name the providers to use.
   */
  telemetry?: false | OpenTelemetryOptions;
  /** The source of time and timers (default the system clock); the testing module passes a ManualClock. */
  clock?: Clock;
  /** Encodes every stored payload (see StentExecutorOptions.codec and aesGcmCodec). */
  codec?: StentCodec;
}
