import type { SqlExecutor } from '../clients/sql-client.js';
import { listOf, type Dialect, type Fragment, type Row } from './dialect.js';

/** SQLite: one writer at a time (the database's write lock), so no row locks and no cap locks. */
export const sqliteDialect: Dialect = {
  name: 'sqlite',
  combinesWrites: false,
  skipLocked: '',
  forUpdate: '',

  inList(column, values, params) {
    if (values.length === 0) return '1 = 0';
    if (values.length === 1) {
      params.push(values[0]);
      return `${column} = ?`;
    }
    params.push(JSON.stringify(values));
    return `${column} IN (SELECT value FROM json_each(?))`;
  },

  unplanned(placeholder) {
    return placeholder;
  },

  tagFilter(tags, params, column = 'tags') {
    if (tags.length === 0) return '1 = 1';
    params.push(JSON.stringify(tags));
    return `EXISTS (SELECT 1 FROM json_each(${column}) AS tag WHERE tag.value IN (SELECT value FROM json_each(?)))`;
  },

  valuesRow(types) {
    return `(${types.map(() => '?').join(', ')})`;
  },

  claimRows(executor: SqlExecutor, table: string, columns: readonly string[], set: Fragment, where: Fragment, orderBy: string, limit: number): Promise<Row[]> {
    return executor.query(
      `UPDATE ${table} SET ${set.sql} WHERE id IN (SELECT c.id FROM ${table} c WHERE ${where.sql} ORDER BY ${orderBy} LIMIT ?) RETURNING ${listOf(columns)}`,
      [...set.params, ...where.params, limit],
    );
  },

  leaseClockInDatabase: false,

  leaseNow(now, params) {
    params.push(now);
    return '?';
  },

  async lockCap() {},
};
