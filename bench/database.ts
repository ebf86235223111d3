import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { StentDatabaseOptions } from 'nestjs-stent';
import { onCleanup } from './cleanup.js';
import type { Db } from './options.js';

/**
 * The PostgreSQL database the benchmark creates its schemas in: one of its own (created when missing), so
 * the server's per-database counters and backends are the benchmark's alone.
 */
export const POSTGRES_URL = process.env.STENT_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/stent_bench';

/** A database of its own for one case: a new SQLite file in a temp dir (either driver), or a new PostgreSQL schema. */
export interface BenchDatabase {
  db: Db;
  /** Options for createStentStore. */
  options: StentDatabaseOptions;
  /** SQLite file (SQLite only). */
  file?: string;
  /** Schema holding the tables (PostgreSQL only). */
  schema?: string;
  dispose(): Promise<void>;
}

/** Creates the bench's database through the server's `postgres` database if it does not exist yet. */
async function createDatabaseIfMissing(): Promise<void> {
  const url = new URL(POSTGRES_URL);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 3_000 });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((error: { code?: string }) => {
      if (error.code !== '42P04') throw error; // created meanwhile by another bench run
    });
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** Resolves to null when PostgreSQL answers (creating the bench's database if needed), or to the reason it does not. */
export async function postgresUnreachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await createDatabaseIfMissing();
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message || error.constructor.name : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `use` on a fresh connection to the bench database, first passed through `prepare` (for example to mark it uncounted). */
export async function withPostgres<T>(use: (client: pg.Client) => Promise<T>, prepare: (client: pg.Client) => pg.Client = (client) => client): Promise<T> {
  const client = prepare(new pg.Client({ connectionString: POSTGRES_URL }));
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function freshDatabase(db: Db, label: string): Promise<BenchDatabase> {
  if (db === 'sqlite' || db === 'sqlite3') {
    const dir = mkdtempSync(join(tmpdir(), `stent-bench-${label}-`));
    const file = join(dir, 'stent.db');
    const unregister = onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    return {
      db,
      file,
      options: { type: db === 'sqlite3' ? 'sqlite' : 'better-sqlite3', database: file },
      dispose: async () => {
        unregister();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `bench_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  await withPostgres((client) => client.query(`CREATE SCHEMA "${schema}"`));
  const drop = (): Promise<void> => withPostgres(async (client) => void (await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)));
  const unregister = onCleanup(drop);
  return {
    db,
    schema,
    options: { type: 'postgres', url: POSTGRES_URL, schema },
    dispose: async () => {
      unregister();
      await drop();
    },
  };
}

/** Runs `use` on a fresh database and always disposes of it afterwards. */
export async function withFreshDatabase<T>(db: Db, label: string, use: (database: BenchDatabase) => Promise<T>): Promise<T> {
  const database = await freshDatabase(db, label);
  try {
    return await use(database);
  } finally {
    await database.dispose();
  }
}
