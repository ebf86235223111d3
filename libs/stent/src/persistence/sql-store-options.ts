import type { SqlClient } from './clients/sql-client.js';
import type { TableNames } from './schema/table-names.js';
import type { WakeBus } from './wake-bus.js';

/** What a SqlStore is built from: a connection, its table names, a wake bus, and the hooks around them. */
export interface SqlStoreOptions {
  client: SqlClient;
  tables: TableNames;
  bus: WakeBus;
  migrate: () => Promise<void>;
  /** Extra clean-up when the store closes (the DataSource it owns, a listener connection). */
  onClose?: () => Promise<void>;
  /** Whether the first attempt to reach the database succeeded (a store opened on a connection made on first use). */
  firstConnectAttempt?: () => Promise<boolean>;
  /** Why the connection is not open yet (the last attempt's error), if it is being made. */
  connectionProblem?: () => unknown;
}
