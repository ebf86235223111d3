import type { SqlExecutor } from '../clients/sql-client.js';
import { listOf, type DeliveryOrder, type Dialect, type Fragment, type Row } from './dialect.js';

/** PostgreSQL: row locks with SKIP LOCKED, arrays for IN lists, advisory locks for capped activities. */
export const postgresDialect: Dialect = {
  name: 'postgres',
  combinesWrites: true,
  skipLocked: ' FOR UPDATE SKIP LOCKED',
  computedOnce: ' OFFSET 0',
  forUpdate: ' FOR UPDATE',
  lockSkipping: (updated, shared) => ` FOR NO KEY UPDATE OF ${updated} SKIP LOCKED FOR SHARE OF ${shared} SKIP LOCKED`,

  inList(column, values, params) {
    if (values.length === 0) return '1 = 0';
    // One value (a worker serving one queue, the usual case) as an equality: the planner can then read a
    // claim index in its order (queue, priority, due time); with `= ANY(array)` it sorts every due row.
    if (values.length === 1) {
      params.push(values[0]);
      return `${column} = ?`;
    }
    params.push(values);
    return `${column} = ANY(?)`;
  },

  tagFilter(tags, params, column = 'tags') {
    if (tags.length === 0) return '1 = 1';
    // Elements are compared in their JSON text form (json keeps the stored text as written), so no
    // escape is ever decoded: a stored "\u0000" cannot make the statement fail for every row.
    params.push(tags.map((tag) => JSON.stringify(tag)));
    return `EXISTS (SELECT 1 FROM json_array_elements(CAST(${column} AS json)) AS tag(value) WHERE CAST(tag.value AS text) = ANY(?))`;
  },

  unplanned(placeholder, type) {
    return `(SELECT CAST(${placeholder} AS ${type}))`;
  },

  valuesRow(types) {
    return `(${types.map((type) => `?::${type}`).join(', ')})`;
  },

  /** Three integer arrays through unnest, written as array literals here (the driver would build each one a number at a time). */
  deliveryOrder(steps, executionId, part) {
    const array = (of: (d: DeliveryOrder) => number) => `{${part.map(of).join(',')}}`;
    return {
      sql: `UPDATE ${steps} s SET delivered_turn = v.turn, delivered_seq = v.seq
        FROM unnest(CAST(? AS integer[]), CAST(? AS integer[]), CAST(? AS integer[])) AS v(position, turn, seq)
        WHERE s.execution_id = ? AND s.position = v.position`,
      params: [array((d) => d.position), array((d) => d.turn), array((d) => d.seq), executionId],
    };
  },

  /**
   * The candidates are picked and locked in a materialized CTE first (FOR UPDATE SKIP LOCKED): with the
   * plain `WHERE id IN (subquery)` form a concurrent update makes PostgreSQL re-run the subquery and take
   * more rows than the limit.
   */
  claimRows(executor: SqlExecutor, table: string, columns: readonly string[], set: Fragment, where: Fragment, orderBy: string, limit: number): Promise<Row[]> {
    return executor.query(
      `WITH picked AS MATERIALIZED (
         SELECT c.id FROM ${table} c WHERE ${where.sql} ORDER BY ${orderBy} LIMIT ${postgresDialect.unplanned('?', 'integer')} FOR UPDATE SKIP LOCKED
       )
       UPDATE ${table} t SET ${set.sql} FROM picked WHERE t.id = picked.id RETURNING ${listOf(columns, 't')}`,
      [...where.params, limit, ...set.params],
    );
  },

  leaseClockInDatabase: true,

  leaseNow() {
    return 'CAST(FLOOR(EXTRACT(EPOCH FROM statement_timestamp()) * 1000) AS BIGINT)';
  },

  joinEach(table, alias, ids) {
    return `CROSS JOIN LATERAL (${ids}) ${alias}_ids JOIN ${table} ${alias} ON ${alias}.id = ${alias}_ids.id`;
  },

  async lockCap(tx, name, schema) {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext(?)) AS locked`, [capLockKey(name, schema)]);
  },
};

/**
 * The advisory lock key of a capped name. Advisory locks belong to the whole database, not to a schema, so
 * the key names the schema: deployments in different schemas never wait for each other's claims (nor for
 * a worker of another one that stopped while it held the lock). The public schema keeps the key without a
 * schema, the one workers of earlier versions take, so a rolling upgrade keeps its caps there.
 */
export function capLockKey(name: string, schema: string | undefined): string {
  return !schema || schema === 'public' ? `stent:limit:${name}` : `stent:limit:${schema}:${name}`;
}
