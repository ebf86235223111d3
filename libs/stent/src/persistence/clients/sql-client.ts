/**
 * The minimal SQL surface the store needs. Statements use `?` placeholders; each client
 * translates them for its driver. Rows come back as plain objects keyed by column name.
 */
export interface SqlExecutor {
  /** Rows of a SELECT or of a statement with RETURNING. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Number of rows a write changed. */
  execute(sql: string, params?: unknown[]): Promise<number>;
}

export type SqlDialect = 'sqlite' | 'postgres';

export interface SqlClient extends SqlExecutor {
  readonly dialect: SqlDialect;
  /** Runs `work` in one transaction that holds the write lock from the start; rolls back if it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Rewrites `?` placeholders as `$1, $2, ...` (statements never contain literal question marks). */
export function numberedPlaceholders(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}
