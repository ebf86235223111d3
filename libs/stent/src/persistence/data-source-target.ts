import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { DataSource } from 'typeorm';
import { ConfigurationError } from '../core/index.js';
import { BetterSqlite3Client } from './clients/better-sqlite3-client.js';
import { PostgresClient } from './clients/postgres-client.js';
import { Sqlite3Client, shareSqlite3Database, type Sqlite3Database } from './clients/sqlite3-client.js';
import { SharedSqlite3Turns } from './shared-sqlite3-turns.js';
import type { DatabaseTarget, OpenConnection } from './database-target.js';
import { PostgresWakeBus } from './postgres-wake-bus.js';
import { claimSqliteFile } from './sqlite-file-drivers.js';
import { localBusFor } from './wake-bus.js';

/** The DataSource types Stent runs on ('sqlite', the sqlite3 package, exists in TypeORM 0.3 only). */
export const supportedDataSourceTypes = ['better-sqlite3', 'sqlite', 'postgres'] as const;

export function isSupportedDataSourceType(type: string): type is (typeof supportedDataSourceTypes)[number] {
  return (supportedDataSourceTypes as readonly string[]).includes(type);
}

/** A SQLite file's key for the in-process queue (every in-memory database is its own). */
export function sqliteFileKey(file: string): string {
  return file === ':memory:' || file === '' ? `memory:${randomUUID()}` : `sqlite:${resolve(file)}`;
}

/** Stent on a TypeORM DataSource: the application's (owned: one Stent destroys on close). */
export class DataSourceTarget implements DatabaseTarget {
  private release: (() => void) | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: {
      /** Stent created the DataSource (and destroys it on close). */
      owned: boolean;
      schema?: string;
      reconnectWindowMs: number;
      logger?: { warn(message: string): void };
    },
  ) {}

  get isOpen(): boolean {
    return this.dataSource.isInitialized;
  }

  async open(): Promise<void> {
    // Refused before the file is opened when this process already uses it through the other driver.
    this.claimFile();
    await this.dataSource.initialize();
  }

  private claimFile(): void {
    const type: string = this.dataSource.options.type;
    if (this.release || (type !== 'better-sqlite3' && type !== 'sqlite')) return;
    this.release = claimSqliteFile(sqliteFileKey(String(this.dataSource.options.database)), type === 'sqlite' ? 'sqlite3' : 'better-sqlite3');
  }

  async discardLateOpen(): Promise<void> {
    await this.dataSource.destroy();
  }

  connection(): OpenConnection {
    this.claimFile();
    const { dataSource } = this;
    const { owned, schema, reconnectWindowMs, logger } = this.options;
    const type: string = dataSource.options.type;
    const driver = dataSource.driver as unknown as Record<string, unknown>;
    if (type === 'better-sqlite3') {
      const connection = driver.databaseConnection as import('better-sqlite3').Database;
      if (!owned) connection.pragma('busy_timeout = 10000');
      const fileKey = sqliteFileKey(String(dataSource.options.database));
      return { client: new BetterSqlite3Client(connection, fileKey), bus: localBusFor(fileKey), fileKey };
    }
    if (type === 'sqlite') {
      // TypeORM 0.3's sqlite driver: one connection and one query runner, on which Stent and the
      // application take turns (see SharedSqlite3Turns).
      const connection = driver.databaseConnection as Sqlite3Database;
      shareSqlite3Database(connection, 10_000);
      const fileKey = sqliteFileKey(String(dataSource.options.database));
      const turns = new SharedSqlite3Turns(dataSource.createQueryRunner() as unknown as ConstructorParameters<typeof SharedSqlite3Turns>[0]);
      return { client: new Sqlite3Client(connection, fileKey, (work) => turns.stent(work)), bus: localBusFor(fileKey), fileKey };
    }
    if (type === 'postgres') {
      const pool = driver.master as import('pg').Pool;
      return {
        client: new PostgresClient(pool, false, { retryWindowMs: reconnectWindowMs }),
        bus: new PostgresWakeBus(pool, schema ?? 'public', logger),
      };
    }
    throw new ConfigurationError(`Stent supports ${supportedDataSourceTypes.join(', ')} DataSources, not '${type}'`);
  }

  async close(): Promise<void> {
    this.release?.();
    this.release = undefined;
    if (this.options.owned && this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
