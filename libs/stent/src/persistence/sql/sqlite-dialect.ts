import type { SqlExecutor } from '../clients/sql-client.js';
import { listOf, type Dialect, type Fragment, type Row } from './dialect.js';

/** SQLite: one writer at a time (the database's write lock), so no row locks and no cap locks. */
export const sqliteDialect: Dialect = {
  name: 'sqlite',
  combinesWrites: false,
  skipLocked: '',
  computedOnce: '',
  forUpdate: '',
  lockSkipping: () => '',

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

  /**
   * One JSON text of [position, turn, seq]. The list is materialized and carries the execution id so that
   * the only way into the steps is their (execution_id, position) index, one lookup a row, whatever
   * statistics the planner has (without any, it would scan the list once a step otherwise).
   */
  deliveryOrder(steps, executionId, part) {
    return {
      sql: `WITH v AS MATERIALIZED (
          SELECT ? AS execution_id, json_extract(d.value, '$[0]') AS position, json_extract(d.value, '$[1]') AS turn, json_extract(d.value, '$[2]') AS seq
          FROM json_each(?) AS d
        )
        UPDATE ${steps} AS s SET delivered_turn = v.turn, delivered_seq = v.seq FROM v WHERE s.execution_id = v.execution_id AND s.position = v.position`,
      params: [executionId, JSON.stringify(part.map((d) => [d.position, d.turn, d.seq]))],
    };
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

  joinEach(table, alias, ids) {
    return `JOIN ${table} ${alias} ON ${alias}.id IN (${ids})`;
  },
};
