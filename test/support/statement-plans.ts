import type { Inspector } from './inspector.js';
import type { Sent } from './statement-capture.js';

/** A captured parameter as an SQL literal (an empty array as '{}', which takes its type from the parameter's). */
export const literal = (value: unknown): string =>
  value === null || value === undefined
    ? 'NULL'
    : Array.isArray(value)
      ? value.length === 0 ? `'{}'` : `ARRAY[${value.map(literal).join(', ')}]`
      : typeof value === 'number' ? String(value) : `'${String(value).replace(/'/g, "''")}'`;

/**
 * The plan of a captured statement, one line per node: SQLite's query plan, or on PostgreSQL the plan of
 * the statement prepared, with its values (custom) or as PostgreSQL plans it once for all values (generic).
 */
export async function planOf(inspector: Inspector, sent: Sent, generic: boolean): Promise<string[]> {
  if (inspector.dialect === 'sqlite') {
    const rows = await inspector.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sent.sql}`, sent.params);
    return rows.map((row) => row.detail);
  }
  await inspector.query(`SET plan_cache_mode = ${generic ? 'force_generic_plan' : 'force_custom_plan'}`);
  await inspector.query('DEALLOCATE ALL');
  await inspector.query(`PREPARE claim_probe AS ${sent.sql}`);
  const rows = await inspector.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE claim_probe(${sent.params.map(literal).join(', ')})`);
  await inspector.query('DEALLOCATE claim_probe');
  return rows.map((row) => row['QUERY PLAN']);
}

/**
 * A captured statement run on PostgreSQL under EXPLAIN ANALYZE: prepared as the store sends it and
 * planned with its values, inside a transaction rolled back (a claim's UPDATE changes nothing). Each node
 * with the rows it returned and how often it ran (`actual rows=N loops=M`).
 */
export async function analyzedPlan(inspector: Inspector, sent: Sent): Promise<string[]> {
  await inspector.query('RESET plan_cache_mode');
  return inRolledBack(inspector, async () => {
    await inspector.query('DEALLOCATE ALL');
    await inspector.query(`PREPARE analyzed_probe AS ${sent.sql}`);
    return explainAnalyzed(inspector, 'analyzed_probe', sent);
  });
}

/** Runs `work` in a transaction that is rolled back whatever it did. */
async function inRolledBack<T>(inspector: Inspector, work: () => Promise<T>): Promise<T> {
  await inspector.query('BEGIN');
  try {
    return await work();
  } finally {
    await inspector.query('ROLLBACK');
  }
}

/** The prepared statement `name` run with `sent`'s values under EXPLAIN ANALYZE, one line per node. */
async function explainAnalyzed(inspector: Inspector, name: string, sent: Sent): Promise<string[]> {
  const rows = await inspector.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE ${name}(${sent.params.map(literal).join(', ')})`);
  return rows.map((row) => row['QUERY PLAN']);
}

/**
 * A captured statement prepared on PostgreSQL and planned now, once for all values, as a worker's
 * connection keeps the plan of a statement it sends often: made while the tables are as they are now (say
 * small, and never analyzed) and kept however they grow. The function returned runs it with that plan
 * under EXPLAIN ANALYZE, in a transaction rolled back, as analyzedPlan does.
 */
export async function planKeptFromNow(inspector: Inspector, sent: Sent): Promise<() => Promise<string[]>> {
  await inspector.query('SET plan_cache_mode = force_generic_plan');
  await inspector.query('DEALLOCATE ALL');
  await inspector.query(`PREPARE kept_probe AS ${sent.sql}`);
  await inRolledBack(inspector, () => inspector.query(`EXECUTE kept_probe(${sent.params.map(literal).join(', ')})`));
  return async () => {
    try {
      return await inRolledBack(inspector, () => explainAnalyzed(inspector, 'kept_probe', sent));
    } finally {
      await inspector.query('DEALLOCATE kept_probe');
      await inspector.query('RESET plan_cache_mode');
    }
  };
}
