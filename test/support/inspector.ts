/**
 * Direct SQL on a test's database: what the engine left behind, read (or, for tests of stored rows
 * written by earlier versions, written) outside the engine.
 */
import Database from 'better-sqlite3';
import type { WorkerProcess } from './worker-process.js';
import { connectPostgres, type TestDatabase } from './databases.js';
import { workerApplicationName } from './backend-names.js';
import { scalarOf, sqliteWriteLockHeld, SQLITE_TABLES } from './inspector-shared.js';
import { openSqlite3Inspector } from './sqlite3-inspector.js';

export interface Inspector {
  readonly dialect: 'sqlite' | 'postgres';
  /** Table names: steps, executions, deadLetters. */
  readonly t: { steps: string; executions: string; deadLetters: string; flowKeys: string };
  /** Runs a statement written with `?` placeholders. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** The first column of the first row as a number. */
  scalar(sql: string, params?: unknown[]): Promise<number>;
  /**
   * Whether worker process `pid` may be inside a database transaction right now (a frozen one would block
   * everyone). SQLite: some other connection holds the file's write lock. PostgreSQL: one of the process's
   * own backends (named by workerApplicationName) is not idle: in a transaction, or running a statement.
   */
  transactionOpen(pid: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function openInspector(db: TestDatabase): Promise<Inspector> {
  if (db.backend === 'sqlite3') return openSqlite3Inspector((db.options as { database: string }).database);
  if (db.dialect === 'sqlite') {
    const file = (db.options as { database: string }).database;
    const conn = new Database(file);
    conn.pragma('busy_timeout = 5000');
    const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
      const statement = conn.prepare(sql);
      if (statement.reader) return statement.all(...params) as T[];
      statement.run(...params);
      return [];
    };
    return {
      dialect: 'sqlite',
      t: SQLITE_TABLES,
      query,
      scalar: scalarOf(query),
      transactionOpen: () =>
        sqliteWriteLockHeld(
          (ms) => conn.pragma(`busy_timeout = ${ms}`),
          (sql) => conn.prepare(sql).run(),
        ),
      close: async () => {
        conn.close();
      },
    };
  }
  const schema = db.schema!;
  const client = await connectPostgres((db.options as { url: string }).url);
  const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    let index = 0;
    const text = sql.replace(/\?/g, () => `$${++index}`);
    return (await client.query(text, params)).rows as T[];
  };
  return {
    dialect: 'postgres',
    t: { steps: `"${schema}"."stent_steps"`, executions: `"${schema}"."stent_executions"`, deadLetters: `"${schema}"."stent_dead_letters"`, flowKeys: `"${schema}"."stent_flow_keys"` },
    query,
    scalar: scalarOf(query),
    transactionOpen: async (pid) => {
      // By the process's own backends, not by what their last statement names: a transaction whose last
      // statement was `SELECT pg_advisory_xact_lock(...)` holds that lock and its row locks all the same.
      const rows = await query<{ n: string }>(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = ? AND state <> 'idle'`, [
        workerApplicationName(pid),
      ]);
      return Number(rows[0]?.n ?? 0) > 0;
    },
    close: async () => {
      await client.end();
    },
  };
}

/**
 * SIGSTOPs a worker at a moment it holds no database transaction open (a process frozen inside a
 * transaction would hold its row locks or SQLite's write lock, which no lease can take back).
 */
export async function freezeOutsideTransaction(worker: WorkerProcess, inspector: Inspector): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    worker.signal('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 30));
    if (!(await inspector.transactionOpen(worker.pid))) return;
    worker.signal('SIGCONT');
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 40));
  }
  throw new Error(`could not freeze worker ${worker.pid} outside a database transaction`);
}
