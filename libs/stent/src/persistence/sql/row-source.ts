import { postgresDialect } from './postgres-dialect.js';
import { STEP_COLUMN_TYPES, STEP_COLUMNS } from './rows.js';

/**
 * Where a PostgreSQL statement reads the rows it writes from: a typed VALUES list, whose text holds the
 * number of rows, or arrays through unnest, one text for any number. PostgreSQL plans a prepared text
 * generically once a few custom plans cost no less; for arrays a custom plan knows their lengths and a
 * generic one cannot, so a statement of arrays keeps being planned afresh when it writes one row (where
 * planning costs more than running), and a VALUES text of one row is planned once. A VALUES text a
 * number of rows is a new statement for each batch size, though: many sizes, few runs each, each planned.
 */
export interface RowSource {
  /** Which source: part of a statement text's cache key. */
  readonly name: 'values' | 'arrays';
  /** The rows as SQL for FROM (`AS alias(columns)` follows), for `count` rows of columns of `types`. */
  sql(types: readonly string[], count: number): string;
  /** Pushes the parameters of `rows` (each a value per column, in `types`' order) as sql() reads them. */
  push(columns: number, rows: readonly (readonly unknown[])[], params: unknown[]): void;
}

/** No rows, as text alone (no parameter): the plan knows there are none. */
function none(types: readonly string[]): string {
  return `unnest(${types.map((type) => `CAST('{}' AS ${type}[])`).join(', ')})`;
}

export const valuesSource: RowSource = {
  name: 'values',
  sql(types, count) {
    if (count === 0) return none(types);
    return `(VALUES ${Array<string>(count).fill(postgresDialect.valuesRow(types)).join(', ')})`;
  },
  push(_columns, rows, params) {
    for (const row of rows) for (const value of row) params.push(value);
  },
};

/**
 * Rows above which a statement reads arrays even where a VALUES text would be kept: each such text is
 * parsed and planned at its send (its size is rarely seen twice) and binds every value as a parameter of
 * its own, which for a 1,000-call fan-out (27,000 parameters) took longer than writing the rows; arrays
 * bind one parameter a column, and planning a custom plan for them is small next to that many rows.
 */
export const VALUES_MAX_ROWS = 16;

/** VALUES for a write of up to VALUES_MAX_ROWS rows where one text a row count is wanted; arrays beyond. */
export function rowSourceFor(rows: number, preferValues: boolean): RowSource {
  return preferValues && rows <= VALUES_MAX_ROWS ? valuesSource : arraysSource;
}

export const arraysSource: RowSource = {
  name: 'arrays',
  sql(types) {
    return `unnest(${types.map((type) => `CAST(? AS ${type}[])`).join(', ')})`;
  },
  push(columns, rows, params) {
    for (let column = 0; column < columns; column++) params.push(rows.map((row) => row[column]));
  },
};

/**
 * PostgreSQL's INSERT of `count` steps read from `source` (each row stepParams(step, true)): the lease of
 * a step inserted claimed is an offset on the database's clock (see Dialect.leaseNow).
 */
export function postgresStepsInsert(steps: string, source: RowSource, count: number): string {
  const leaseNow = postgresDialect.leaseNow(0, []);
  const columns = STEP_COLUMNS.map((column) => (column === 'lease_expires_at' ? `${leaseNow} + v.${column}` : `v.${column}`));
  return `INSERT INTO ${steps} (${STEP_COLUMNS.join(', ')})
         SELECT ${columns.join(', ')}
         FROM ${source.sql(STEP_COLUMN_TYPES, count)} AS v(${STEP_COLUMNS.join(', ')})`;
}
