import type { Inspector } from './inspector.js';

/** `series(n)` holding `count` numbers from `first` up, as a WITH clause of the inspector's dialect: rows to fill a table with. */
export function seriesOf(inspector: Inspector, count: number, first = 1): string {
  const last = first + count - 1;
  return inspector.dialect === 'postgres'
    ? `WITH series(n) AS (SELECT generate_series(${first}, ${last}))`
    : `WITH RECURSIVE series(n) AS (SELECT ${first} UNION ALL SELECT n + 1 FROM series WHERE n < ${last})`;
}

/** A number as text to concatenate: cast on PostgreSQL; parenthesized on SQLite, where `||` binds tighter than `%`. */
export function textOf(inspector: Inspector, expr: string): string {
  return inspector.dialect === 'postgres' ? `CAST(${expr} AS text)` : `(${expr})`;
}

/** Executions `run-0` .. `run-(count - 1)` of workflow 'Flow', running and unclaimed on queue 'default': what the tests' waiting steps belong to. */
export async function insertRunningFlows(inspector: Inspector, count: number, t0: number): Promise<void> {
  const columns = 'id, workflow_name, state, args, queue, priority, tags, created_at, updated_at, wake_at, finished_at';
  await inspector.query(
    `${seriesOf(inspector, count, 0)} INSERT INTO ${inspector.t.executions} (${columns})
     SELECT 'run-' || ${textOf(inspector, 'n')}, 'Flow', 'running', '[]', 'default', 0, '[]', ${t0}, ${t0}, NULL, NULL FROM series`,
  );
}
