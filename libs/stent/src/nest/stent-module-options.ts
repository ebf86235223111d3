import type { DataSource } from 'typeorm';
import type { StentDatabaseOptions } from '../persistence/index.js';
import type { Clock, WorkerOptions } from '../core/index.js';

export interface StentModuleOptions {
  /** Connection settings for a database Stent opens itself (embedded SQLite file or PostgreSQL). */
  database?: StentDatabaseOptions;
  /** Or the application's own TypeORM DataSource (forRootAsync with inject: [getDataSourceToken()]). */
  dataSource?: DataSource;
  /** PostgreSQL schema for Stent's tables. */
  schema?: string;
  /** Worker settings; false for processes that only dispatch and query. */
  worker?: WorkerOptions | false;
  /** How long to retry with backoff when the database is unreachable at start (default '30s'). */
  connectTimeout?: string | number;
  /** Apply migrations at startup (default true). */
  migrate?: boolean;
  /** The source of time and timers (default the system clock); the testing module passes a ManualClock. */
  clock?: Clock;
}
