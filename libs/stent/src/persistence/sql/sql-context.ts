import type { SqlClient } from '../clients/sql-client.js';
import type { TableNames } from '../schema/table-names.js';
import type { InsertedCalls } from '../repositories/inserted-calls.js';
import type { WakeBus } from '../wake-bus.js';
import type { Dialect } from './dialect.js';

/** What every repository works with: the connection, its dialect, the table names and the wake-up bus. */
export interface SqlContext {
  readonly client: SqlClient;
  readonly dialect: Dialect;
  readonly t: TableNames;
  /** Repositories publish wake events on it after the writes that cause them have committed. */
  readonly bus: WakeBus;
  /** On SQLite: the calls of pending activity steps inserted here, for claims to take instead of reading them back. */
  readonly insertedCalls?: InsertedCalls;
}
