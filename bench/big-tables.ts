import Database from 'better-sqlite3';
import type { BenchDatabase } from './database.js';
import { withPostgres } from './database.js';

/** What the `scale` case puts in the tables before it measures, written straight in SQL (not through the engine). */
export interface BigTables {
  /** Completed executions, each with one completed activity step. */
  finished: number;
  /** Due activity steps waiting in a queue no bench worker serves (a backlog whose workers are away). */
  dueSteps: number;
  /** How many running (suspended) executions those steps belong to. */
  backlogExecutions: number;
  /** Due executions waiting in that queue. */
  dueExecutions: number;
}

export const BACKLOG_QUEUE = 'backlog';

/**
 * The rows, as SELECTs over a series `n` (1..count) that each INSERT ... SELECT runs: PostgreSQL takes the
 * series from generate_series, SQLite from a recursive CTE. `t0` is a time in the past, so every backlog row
 * is due.
 */
function statements(tables: { executions: string; steps: string }, big: BigTables, t0: number, concat: (...parts: string[]) => string) {
  const per = Math.ceil(big.dueSteps / big.backlogExecutions);
  const exec = `id, workflow_name, state, args, result, queue, priority, tags, created_at, updated_at, started_at, finished_at, wake_at`;
  const step = `id, execution_id, position, kind, name, args, state, result, attempts, queue, priority, tags, available_at, created_at, started_at, finished_at`;
  return [
    {
      count: big.finished,
      sql: `INSERT INTO ${tables.executions} (${exec})
            SELECT ${concat("'done-'", 'n')}, 'PingFlow', 'completed', '[1]', '2', 'default', 0, '[]', ${t0} + n, ${t0} + n, ${t0} + n, ${t0} + n + 5, NULL FROM series`,
    },
    {
      count: big.finished,
      sql: `INSERT INTO ${tables.steps} (${step})
            SELECT ${concat("'done-s-'", 'n')}, ${concat("'done-'", 'n')}, 0, 'activity', 'BenchActivities.add', '[1,1]', 'completed', '2', 1, 'default', 0, '[]', ${t0} + n, ${t0} + n, ${t0} + n + 1, ${t0} + n + 2 FROM series`,
    },
    {
      count: big.backlogExecutions,
      sql: `INSERT INTO ${tables.executions} (${exec})
            SELECT ${concat("'backlog-'", 'n')}, 'FanoutFlow', 'running', '[${per}]', NULL, '${BACKLOG_QUEUE}', 0, '[]', ${t0}, ${t0}, ${t0}, NULL, NULL FROM series`,
    },
    {
      count: big.dueSteps,
      sql: `INSERT INTO ${tables.steps} (${step})
            SELECT ${concat("'backlog-s-'", 'n')}, ${concat("'backlog-'", `((n - 1) / ${per} + 1)`)}, (n - 1) % ${per}, 'activity', 'BenchActivities.add', ${concat("'['", `((n - 1) % ${per})`, "',1]'")},
                   'pending', NULL, 0, '${BACKLOG_QUEUE}', 0, '[]', ${t0} + n, ${t0}, NULL, NULL FROM series`,
    },
    {
      count: big.dueExecutions,
      sql: `INSERT INTO ${tables.executions} (${exec})
            SELECT ${concat("'due-'", 'n')}, 'PingFlow', 'pending', '[1]', NULL, '${BACKLOG_QUEUE}', 0, '[]', ${t0} + n, ${t0} + n, NULL, NULL, ${t0} + n FROM series`,
    },
  ];
}

/** Fills a migrated database with `big` (see BigTables); returns how long it took in seconds. */
export async function fillBigTables(database: BenchDatabase, big: BigTables): Promise<number> {
  const started = Date.now();
  const t0 = Date.now() - 86_400_000;
  if (database.db === 'sqlite') {
    const db = new Database(database.file!);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = OFF');
      for (const { count, sql } of statements({ executions: 'stent_executions', steps: 'stent_steps' }, big, t0, (...parts) => parts.join(' || '))) {
        db.exec(`WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < ${count}) ${sql}`);
      }
      db.exec('ANALYZE');
    } finally {
      db.close();
    }
  } else {
    const q = (name: string): string => `"${database.schema}"."${name}"`;
    await withPostgres(async (client) => {
      await client.query('SET synchronous_commit = off');
      for (const { count, sql } of statements({ executions: q('stent_executions'), steps: q('stent_steps') }, big, t0, (...parts) => parts.map((part) => (part.startsWith("'") ? part : `(${part})::text`)).join(' || '))) {
        await client.query(`WITH series(n) AS (SELECT generate_series(1, ${count})) ${sql}`);
      }
      // As autovacuum would have left tables this size: statistics, and the visibility map and hint bits
      // set (else the first reads after the fill write them back while the case measures).
      await client.query(`VACUUM ANALYZE ${q('stent_executions')}`);
      await client.query(`VACUUM ANALYZE ${q('stent_steps')}`);
    });
  }
  return (Date.now() - started) / 1000;
}
