import type { SqlExecutor } from '../clients/sql-client.js';

export type Row = Record<string, unknown>;

/** A statement fragment and the parameters it binds, in order. */
export interface Fragment {
  sql: string;
  params: unknown[];
}

/**
 * What differs between SQLite and PostgreSQL in the statements the store writes. The repositories write
 * each statement once; where the databases differ they ask the dialect.
 */
/** Where one step's outcome came in the order the workflow was handed its outcomes. */
export interface DeliveryOrder {
  position: number;
  turn: number;
  seq: number;
}

export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /**
   * PostgreSQL runs several writes in one statement (data-modifying CTEs, UPDATE ... FROM a typed VALUES
   * list) and spends more per statement than per row, so rows of several callers are written together;
   * SQLite writes one thing per statement, cheaply, under the database's single write lock.
   */
  readonly combinesWrites: boolean;
  /** Appended to a SELECT that locks its rows for the transaction, skipping rows others hold. */
  readonly skipLocked: string;
  /** Appended to a SELECT that locks the row it reads for the rest of the transaction. */
  readonly forUpdate: string;
  /**
   * Appended to a subquery in FROM whose columns the outer query reads in several places, so that it is
   * computed once: PostgreSQL otherwise pulls the subquery up and copies its expression, subqueries and
   * all, into every place that reads it, each copy planned and run on its own. SQLite computes an
   * uncorrelated subquery once however often it is read: nothing.
   */
  readonly computedOnce: string;
  /**
   * Appended to a SELECT joining rows to update (alias `updated`) with rows they depend on (alias `shared`):
   * locks both for the transaction without waiting, skipping a pair where either row is held by a writer,
   * and reads a row changed since the statement began as committed. Waiting for none, it cannot deadlock
   * with writers that lock the same rows in the other order. SQLite: nothing (its write lock serializes).
   */
  lockSkipping(updated: string, shared: string): string;
  /**
   * `column IN (...)` for a list of values, as one statement text whatever the list's length, so lists of
   * every size share one prepared statement. Pushes its parameters onto `params`.
   */
  inList(column: string, values: readonly unknown[], params: unknown[]): string;
  /**
   * Rows whose tags (a JSON array written by JSON.stringify, in `column`) hold at least one of `tags`,
   * matched exactly (no wildcards, case-sensitive); no filter when `tags` is empty.
   */
  tagFilter(tags: string[], params: unknown[], column?: string): string;
  /**
   * A placeholder whose value the planner must not plan for: on PostgreSQL a one-row subquery (an InitPlan,
   * evaluated before the scan, still usable as an index bound). Claims use it: their prepared plan then
   * depends on no value, so PostgreSQL settles on one generic plan instead of planning the statement again
   * at every call (which it does when values make a fresh plan look cheaper, as a big table's statistics
   * do). The plan itself is the same index read either way.
   */
  unplanned(placeholder: string, type: 'bigint' | 'integer' | 'text'): string;
  /** One row of a VALUES list whose placeholders have these column types. */
  valuesRow(types: readonly string[]): string;
  /**
   * Claims up to `limit` rows of `table` matching `where` (over alias `c`), in `orderBy` order, applying
   * `set`; returns `columns` of the claimed rows (in no particular order).
   */
  /**
   * The UPDATE writing a part of an execution's delivery order into `steps`, binding the part as a few
   * values whatever its size (not three parameters a row), so its text is one prepared statement and a wide
   * fan-out's order leaves no parameter list or placeholder text per row to collect.
   */
  deliveryOrder(steps: string, executionId: string, part: readonly DeliveryOrder[]): Fragment;
  claimRows(executor: SqlExecutor, table: string, columns: readonly string[], set: Fragment, where: Fragment, orderBy: string, limit: number): Promise<Row[]>;
  /**
   * The time leases are set from and judged by, as an SQL expression (pushing its parameters, if any):
   * the database server's clock on PostgreSQL, so workers whose own clocks disagree still agree on when a
   * lease runs out; the engine's `now` on SQLite, whose processes share one machine (and its clock).
   * Due times (timers, retries, wake-ups) stay on the engine's clock.
   */
  leaseNow(now: number, params: unknown[]): string;
  /** Whether leaseNow is the database's clock (then leases the engine computes are stored relative to it). */
  readonly leaseClockInDatabase: boolean;
  /**
   * Serializes, across processes, claims of an activity (or workflow) with a cluster-wide cap in the tables of
   * `schema`, until the transaction ends. Deployments in other schemas of the same database lock apart.
   */
  lockCap(tx: SqlExecutor, name: string, schema: string | undefined): Promise<void>;
  /**
   * Joins each row of the query so far to the rows of `table` (as `alias`) whose ids `ids` selects for it: a
   * correlated subquery, limited, that must run once per outer row. PostgreSQL joins it LATERAL; SQLite has
   * no LATERAL and takes the ids by IN, which it runs once per outer row (PostgreSQL would run it once per
   * pair of outer row and row of `table`).
   */
  joinEach(table: string, alias: string, ids: string): string;
}

/** Column names as a list, optionally qualified by a table alias. */
export function listOf(columns: readonly string[], alias?: string): string {
  return columns.map((column) => (alias ? `${alias}.${column}` : column)).join(', ');
}

