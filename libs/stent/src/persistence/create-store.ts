import type { DataSource } from 'typeorm';
import { ConfigurationError, DatabaseUnavailableError, parseDuration, systemClock, type Clock, type Duration, type StentStore } from '../core/index.js';
import { withSqliteFile } from './clients/queued-sqlite-client.js';
import { isConnectionError } from './clients/connection-errors.js';
import { DeferredSqlClient } from './clients/deferred-client.js';
import type { SqlClient } from './clients/sql-client.js';
import { runStentMigrations } from './schema/migrator.js';
import { SqlStore } from './sql-store.js';
import { tableNames } from './schema/table-names.js';
import { DeferredWakeBus } from './deferred-wake-bus.js';
import { StoreConnection } from './store-connection.js';
import { DataSourceTarget, isSupportedDataSourceType, supportedDataSourceTypes } from './data-source-target.js';
import type { DatabaseTarget } from './database-target.js';
import { Sqlite3Target } from './sqlite3-target.js';
import { warnOfWalResetBug } from './sqlite-version-check.js';
import { applyStentMigrationsInTransaction, applyStentMigrationsOnPool } from './schema/migrator.js';
import { BetterSqlite3Target } from './better-sqlite3-target.js';
import { PostgresPoolTarget } from './postgres-pool-target.js';

/** Where Stent keeps its tables. */
export type StentDatabaseOptions =
  | { type: 'better-sqlite3'; database: string; busyTimeout?: number }
  /** The `sqlite3` package (asynchronous, off the event loop); same file format and semantics. */
  | { type: 'sqlite'; database: string; busyTimeout?: number }
  | { type: 'postgres'; url?: string; host?: string; port?: number; username?: string; password?: string; database?: string; schema?: string; poolSize?: number };

export interface StentStoreOptions {
  /** Connection settings for a database Stent opens and owns (through its driver; TypeORM is not loaded). */
  database?: StentDatabaseOptions;
  /** An initialized TypeORM DataSource to share (the application's own). */
  dataSource?: DataSource;
  /** PostgreSQL schema for Stent's tables (default: the connection's search path). */
  schema?: string;
  logger?: { warn(message: string): void };
  /**
   * How long connecting is tried again (with back-off, the last try at the deadline) before an operation
   * waiting for the database fails with DatabaseUnavailableError. Default '30s'.
   */
  connectTimeout?: Duration;
  /** Times the connection retries (default: the system clock). */
  clock?: Clock;
  /**
   * PostgreSQL: how long an operation cut by a lost connection is tried again, where that is safe,
   * before it fails with DatabaseUnavailableError. Default '5s'.
   */
  reconnectWindow?: Duration;
}

/**
 * Parses `STENT_DATABASE_URL`-style strings: a postgres URL, a SQLite file path (or sqlite:path) opened
 * with better-sqlite3, or sqlite3:path for a SQLite file opened with the sqlite3 package.
 */
export function databaseFromUrl(url: string): StentDatabaseOptions {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema') ?? undefined;
    parsed.searchParams.delete('schema');
    return { type: 'postgres', url: parsed.toString(), schema };
  }
  if (/^sqlite3:/.test(url)) return { type: 'sqlite', database: url.replace(/^sqlite3:(\/\/)?/, '') };
  return { type: 'better-sqlite3', database: url.replace(/^sqlite:(\/\/)?/, '') };
}

/**
 * Builds the store on a database Stent opens itself (through its driver, without TypeORM) or on the
 * application's DataSource, without waiting for the database: the connection opens on first use (see StoreConnection), so an application can start while
 * its database is down. Operations made before it answers wait up to connectTimeout for it.
 */
export function openStentStore(options: StentStoreOptions): SqlStore {
  if (!options.database === !options.dataSource) throw new ConfigurationError('Give Stent exactly one of `database` or `dataSource`');
  const reconnectWindowMs = parseDuration(options.reconnectWindow ?? '5s');
  const schema = options.schema ?? (options.database?.type === 'postgres' ? options.database.schema : undefined);
  let target: DatabaseTarget;
  let dialect: 'sqlite' | 'postgres';
  let migrateOn: (fileKey: string | undefined, client: SqlClient) => Promise<unknown>;
  const database = options.database;
  if (database?.type === 'sqlite') {
    // No DataSource: TypeORM 1.x has no sqlite3 driver, and Stent's client needs none.
    if (!database.database) throw new ConfigurationError("database.database must name the SQLite file (or ':memory:')");
    target = new Sqlite3Target(database.database, database.busyTimeout ?? 10_000);
    dialect = 'sqlite';
    migrateOn = (_fileKey, client) => client.transaction((tx) => applyStentMigrationsInTransaction(tx, tables));
  } else if (database?.type === 'better-sqlite3') {
    // Stent opens its own database without TypeORM, which only an application's DataSource needs.
    if (!database.database) throw new ConfigurationError("database.database must name the SQLite file (or ':memory:')");
    target = new BetterSqlite3Target(database.database, database.busyTimeout ?? 10_000);
    dialect = 'sqlite';
    migrateOn = (_fileKey, client) => client.transaction((tx) => applyStentMigrationsInTransaction(tx, tables));
  } else if (database?.type === 'postgres') {
    const { url, host, port, username, password, poolSize } = database;
    const poolTarget = new PostgresPoolTarget({
      pool: { connectionString: url, host, port, user: username, password, database: database.database, max: poolSize ?? 10 },
      schema,
      reconnectWindowMs,
      logger: options.logger,
    });
    target = poolTarget;
    dialect = 'postgres';
    migrateOn = () => applyStentMigrationsOnPool(poolTarget.openPool(), tables, schema);
  } else if (options.dataSource) {
    const dataSource = options.dataSource;
    const type: string = dataSource.options.type;
    if (!isSupportedDataSourceType(type)) throw new ConfigurationError(`Stent supports ${supportedDataSourceTypes.join(', ')} DataSources, not '${type}'`);
    target = new DataSourceTarget(dataSource, { owned: false, schema, reconnectWindowMs, logger: options.logger });
    dialect = type === 'postgres' ? 'postgres' : 'sqlite';
    migrateOn = async (fileKey) => {
      const migrate = () => runStentMigrations(dataSource, tables, dialect === 'postgres' ? schema : undefined);
      if (fileKey) await withSqliteFile(fileKey, migrate);
      else await migrate();
    };
  } else {
    throw new ConfigurationError(`Unsupported database type '${(database as unknown as { type: string }).type}': use 'better-sqlite3', 'sqlite' or 'postgres'`);
  }
  const bus = new DeferredWakeBus();
  const connection = new StoreConnection({
    target,
    connectTimeoutMs: parseDuration(options.connectTimeout ?? '30s'),
    clock: options.clock ?? systemClock,
    logger: options.logger,
    onOpen: (open) => {
      bus.attach(open.bus);
      if (dialect === 'sqlite') void warnOfWalResetBug(open.client, options.logger);
    },
  });
  const tables = tableNames(dialect === 'postgres' ? schema : undefined);
  return new SqlStore({
    client: new DeferredSqlClient(dialect, connection),
    tables,
    bus,
    migrate: async () => {
      const { fileKey, client } = await connection.connect();
      try {
        await migrateOn(fileKey, client);
      } catch (error) {
        // The server went away under the migration (which ran in one transaction, now rolled back).
        if (isConnectionError(error) || isConnectionError((error as { driverError?: unknown } | null)?.driverError)) {
          throw new DatabaseUnavailableError('Stent could not migrate its schema', { cause: error });
        }
        throw error;
      }
    },
    onClose: () => connection.close(),
    firstConnectAttempt: () => connection.firstAttempt(),
    connectionProblem: () => (connection.open ? undefined : connection.lastError),
  });
}

/**
 * Opens the database (or adopts a DataSource) and builds the store on it, once the database answered: retries with
 * back-off for up to connectTimeout, then fails with DatabaseUnavailableError.
 */
export async function createStentStore(options: StentStoreOptions): Promise<StentStore> {
  const store = openStentStore(options);
  try {
    await store.ping();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}
