import type { SqlClient } from './clients/sql-client.js';
import type { WakeBus } from './wake-bus.js';

/** What a store runs on once its database answered. */
export interface OpenConnection {
  client: SqlClient;
  bus: WakeBus;
  /** SQLite: the file's key (statements and migrations of one file are queued together). */
  fileKey?: string;
}

/**
 * The database a StoreConnection opens: the application's TypeORM DataSource, or a database Stent opens
 * itself through its driver (a SQLite file with `better-sqlite3` or `sqlite3`, a `pg` pool).
 */
export interface DatabaseTarget {
  readonly isOpen: boolean;
  /** One attempt to connect. */
  open(): Promise<void>;
  /** Undoes an open() that succeeded after its caller stopped waiting for it. */
  discardLateOpen(): Promise<void>;
  /** The client and wake bus, once open. */
  connection(): OpenConnection;
  /** Closes what Stent opened (an application's own DataSource stays open). */
  close(): Promise<void>;
}
