import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ConfigurationError, DatabaseUnavailableError, parseDuration, sleepOn, systemClock, type Clock, type Duration, type StentStore } from '../core/index.js';
import { BetterSqlite3Client, withSqliteFile } from './clients/better-sqlite3-client.js';
import { isConnectionError } from './clients/connection-errors.js';
import { PostgresClient } from './clients/postgres-client.js';
import type { SqlClient } from './clients/sql-client.js';
import { stentEntities } from './schema/entities.js';
import { runStentMigrations } from './schema/migrator.js';
import { SqlStore } from './sql-store.js';
import { tableNames } from './schema/table-names.js';
import { localBusFor, type WakeBus } from './wake-bus.js';
import { PostgresWakeBus } from './postgres-wake-bus.js';

/** Where Stent keeps its tables. */
export type StentDatabaseOptions =
  | { type: 'better-sqlite3'; database: string; busyTimeout?: number }
  | { type: 'postgres'; url?: string; host?: string; port?: number; username?: string; password?: string; database?: string; schema?: string; poolSize?: number };

export interface StentStoreOptions {
  /** Connection settings for a DataSource Stent creates and owns. */
  database?: StentDatabaseOptions;
  /** An initialized TypeORM DataSource to share (the application's own). */
  dataSource?: DataSource;
  /** PostgreSQL schema for Stent's tables (default: the connection's search path). */
  schema?: string;
  logger?: { warn(message: string): void };
  /** How long to keep retrying (with backoff) when the database cannot be reached at start. Default '30s'. */
  connectTimeout?: Duration;
  /** Times the connection retries (default: the system clock). */
  clock?: Clock;
  /**
   * PostgreSQL: how long an operation cut by a lost connection is tried again, where that is safe,
   * before it fails with DatabaseUnavailableError. Default '5s'.
   */
  reconnectWindow?: Duration;
}

/** Parses `STENT_DATABASE_URL`-style strings: a postgres URL, or a SQLite file path. */
export function databaseFromUrl(url: string): StentDatabaseOptions {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema') ?? undefined;
    parsed.searchParams.delete('schema');
    return { type: 'postgres', url: parsed.toString(), schema };
  }
  return { type: 'better-sqlite3', database: url.replace(/^sqlite:(\/\/)?/, '') };
}

function dataSourceOptions(database: StentDatabaseOptions): DataSourceOptions {
  if (database.type === 'better-sqlite3') {
    if (!database.database) throw new ConfigurationError("database.database must name the SQLite file (or ':memory:')");
    const busyTimeout = database.busyTimeout ?? 10_000;
    return {
      type: 'better-sqlite3',
      database: database.database,
      entities: stentEntities,
      synchronize: false,
      enableWAL: database.database !== ':memory:',
      prepareDatabase: (db: { pragma(sql: string): unknown }) => {
        db.pragma(`busy_timeout = ${busyTimeout}`);
        db.pragma('synchronous = NORMAL');
      },
    } as DataSourceOptions;
  }
  if (database.type === 'postgres') {
    return {
      type: 'postgres',
      url: database.url,
      host: database.host,
      port: database.port,
      username: database.username,
      password: database.password,
      database: database.database,
      entities: stentEntities,
      synchronize: false,
      poolSize: database.poolSize ?? 10,
    } as DataSourceOptions;
  }
  throw new ConfigurationError(`Unsupported database type '${(database as { type: string }).type}': use 'better-sqlite3' or 'postgres'`);
}

/**
 * Initializes the DataSource, retrying with back-off until it answers or `timeoutMs` has passed (the
 * last try is made at the deadline), then fails with DatabaseUnavailableError. An attempt that hangs
 * (a host that drops packets) is cut at the deadline too (the last one after a second).
 */
export async function initializeWithRetry(dataSource: DataSource, timeoutMs: number, clock: Clock, logger?: { warn(message: string): void }): Promise<void> {
  const deadline = clock.now() + timeoutMs;
  for (let attempt = 1, pause = 200; ; attempt++, pause = Math.min(pause * 2, 5_000)) {
    try {
      // The last attempt, made at the deadline, still gets a moment to be refused or accepted.
      await withinDeadline(dataSource, Math.max(deadline - clock.now(), 1_000), clock);
      return;
    } catch (error) {
      const remaining = deadline - clock.now();
      if (remaining <= 0) {
        throw new DatabaseUnavailableError(`Stent could not connect to its database within ${timeoutMs} ms (${attempt} attempt(s))`, { cause: error, attempts: attempt });
      }
      const wait = Math.min(pause, remaining);
      logger?.warn(`Stent: database unreachable (${error instanceof Error ? error.message : String(error)}); retrying in ${wait} ms`);
      await sleepOn(clock, wait);
    }
  }
}

/** One initialize() attempt, given up after `ms` (a late success is closed again: nobody uses it). */
function withinDeadline(dataSource: DataSource, ms: number, clock: Clock): Promise<void> {
  const attempt = dataSource.initialize();
  return new Promise<void>((resolve, reject) => {
    const timer = clock.setTimer(Math.max(0, ms), () => {
      void attempt.then(() => dataSource.destroy()).catch(() => undefined);
      reject(new Error(`no answer within ${Math.max(0, ms)} ms`));
    });
    attempt.then(
      () => {
        timer.cancel();
        resolve();
      },
      (error: unknown) => {
        timer.cancel();
        reject(error);
      },
    );
  });
}

/** Opens (or adopts) a DataSource and builds the store on it. */
export async function createStentStore(options: StentStoreOptions): Promise<StentStore> {
  if (!options.database === !options.dataSource) throw new ConfigurationError('Give Stent exactly one of `database` or `dataSource`');
  const owned = !options.dataSource;
  const dataSource = options.dataSource ?? new DataSource(dataSourceOptions(options.database!));
  if (!dataSource.isInitialized) await initializeWithRetry(dataSource, parseDuration(options.connectTimeout ?? '30s'), options.clock ?? systemClock, options.logger);
  const type = dataSource.options.type;
  const schema = options.schema ?? (options.database?.type === 'postgres' ? options.database.schema : undefined);
  let client: SqlClient;
  let bus: WakeBus;
  let fileKey: string | undefined;
  if (type === 'better-sqlite3') {
    const driver = dataSource.driver as unknown as { databaseConnection: import('better-sqlite3').Database };
    const connection = driver.databaseConnection;
    if (!owned) {
      connection.pragma('busy_timeout = 10000');
    }
    const file = String(dataSource.options.database);
    fileKey = file === ':memory:' || file === '' ? `memory:${randomUUID()}` : `sqlite:${resolve(file)}`;
    client = new BetterSqlite3Client(connection, fileKey);
    bus = localBusFor(fileKey);
  } else if (type === 'postgres') {
    const pool = (dataSource.driver as unknown as { master: import('pg').Pool }).master;
    client = new PostgresClient(pool, false, { retryWindowMs: parseDuration(options.reconnectWindow ?? '5s') });
    bus = new PostgresWakeBus(pool, schema ?? 'public', options.logger);
  } else {
    throw new ConfigurationError(`Stent supports better-sqlite3 and postgres DataSources, not '${type}'`);
  }
  const tables = tableNames(type === 'postgres' ? schema : undefined);
  return new SqlStore({
    client,
    tables,
    bus,
    migrate: async () => {
      const migrate = () => runStentMigrations(dataSource, tables, type === 'postgres' ? schema : undefined);
      try {
        if (fileKey) await withSqliteFile(fileKey, migrate);
        else await migrate();
      } catch (error) {
        // The server went away under the migration (which ran in one transaction, now rolled back).
        if (isConnectionError(error) || isConnectionError((error as { driverError?: unknown } | null)?.driverError)) {
          throw new DatabaseUnavailableError('Stent could not migrate its schema', { cause: error });
        }
        throw error;
      }
    },
    onClose: async () => {
      await bus.close();
      if (owned && dataSource.isInitialized) await dataSource.destroy();
    },
  });
}
