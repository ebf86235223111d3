/**
 * The inspector for a test on the sqlite3 driver. It must not use better-sqlite3: two copies of SQLite in
 * one process do not see each other's file locks (POSIX locks belong to the process, and each copy keeps
 * its own table of them), and closing one copy's connection drops the other's locks.
 */
import { createRequire } from 'node:module';
import type { Inspector } from './inspector.js';
import { scalarOf, sqliteWriteLockHeld, SQLITE_TABLES } from './inspector-shared.js';

interface Sqlite3Db {
  all(sql: string, params: unknown[], callback: (error: Error | null, rows: unknown[]) => void): void;
  run(sql: string, params: unknown[], callback: (error: Error | null) => void): void;
  configure(option: 'busyTimeout', ms: number): void;
  close(callback: (error: Error | null) => void): void;
}

const require = createRequire(import.meta.url);

export async function openSqlite3Inspector(file: string): Promise<Inspector> {
  const sqlite3 = require('sqlite3') as { Database: new (file: string, callback: (error: Error | null) => void) => Sqlite3Db };
  const conn = await new Promise<Sqlite3Db>((resolve, reject) => {
    const db: Sqlite3Db = new sqlite3.Database(file, (error) => (error ? reject(error) : resolve(db)));
  });
  conn.configure('busyTimeout', 5_000);
  const query = <T>(sql: string, params: unknown[] = []): Promise<T[]> =>
    new Promise((resolve, reject) => conn.all(sql, params, (error, rows) => (error ? reject(error) : resolve(rows as T[]))));
  const run = (sql: string): Promise<void> => new Promise((resolve, reject) => conn.run(sql, [], (error) => (error ? reject(error) : resolve())));
  return {
    dialect: 'sqlite',
    t: SQLITE_TABLES,
    query,
    scalar: scalarOf(query),
    transactionOpen: () => sqliteWriteLockHeld((ms) => conn.configure('busyTimeout', ms), run),
    close: () => new Promise((resolve, reject) => conn.close((error) => (error ? reject(error) : resolve()))),
  };
}
