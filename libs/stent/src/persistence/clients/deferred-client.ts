import type { SqlClient, SqlDialect, SqlExecutor } from './sql-client.js';

/**
 * A SqlClient whose connection is opened on first use (see StoreConnection): statements wait for it, and
 * fail as it fails, until it is open; then they go straight to the real client.
 */
export class DeferredSqlClient implements SqlClient {
  constructor(
    readonly dialect: SqlDialect,
    private readonly connection: { readonly open: { client: SqlClient } | undefined; connect(): Promise<{ client: SqlClient }> },
  ) {}

  private get ready(): SqlClient | undefined {
    return this.connection.open?.client;
  }

  private async client(): Promise<SqlClient> {
    return (await this.connection.connect()).client;
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    const client = this.ready;
    return client ? client.query<T>(sql, params) : this.client().then((c) => c.query<T>(sql, params));
  }

  execute(sql: string, params?: unknown[]): Promise<number> {
    const client = this.ready;
    return client ? client.execute(sql, params) : this.client().then((c) => c.execute(sql, params));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = this.ready;
    return client ? client.transaction(work) : this.client().then((c) => c.transaction(work));
  }

  async close(): Promise<void> {
    await this.ready?.close();
  }
}
