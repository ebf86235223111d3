import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { StentDatabaseOptions } from 'nestjs-stent';

/** PostgreSQL used by the tests; CI starts it and fails if it is unreachable (never skipped). */
export const POSTGRES_URL = process.env.STENT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type Dialect = 'sqlite' | 'postgres';
export const DIALECTS: Dialect[] = ['sqlite', 'postgres'];

/** How a test reaches its database: a dialect through its default driver, or SQLite through `sqlite3`. */
export type Backend = Dialect | 'sqlite3';
/** The dialects and the sqlite3 driver: for the suites that show the engine behaves alike on every driver. */
export const BACKENDS: Backend[] = ['sqlite', 'postgres', 'sqlite3'];

export interface TestDatabase {
  dialect: Dialect;
  /** Set where the driver matters (sqlite3); otherwise the dialect's default driver. */
  backend?: Backend;
  /** Options for StentModule / createStentStore. */
  options: StentDatabaseOptions;
  /** A STENT_DATABASE_URL-style string for child processes (SQLite path or postgres URL). */
  url: string;
  /** PostgreSQL schema holding this test's tables (undefined on SQLite). */
  schema?: string;
  dispose(): Promise<void>;
}

/**
 * How a test's own schema is reached: POSTGRES_URL with synchronous_commit off for its connections. A commit
 * is still atomic and seen at once by every other connection; only a crash of the server itself could lose
 * the last ones, and no test crashes this shared server (pg-restart.test.ts restarts a cluster of its own,
 * which keeps synchronous commits). The suite's thousands of commits then stop waiting for the WAL flush,
 * which on a loaded machine took half of each commit's time.
 */
const TEST_SCHEMA_URL = `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent('-c synchronous_commit=off')}`;

/**
 * A connected pg.Client. The server's connections are shared by every test file running at once (and by
 * whatever else runs on the machine, another suite included): while they are all taken ("too many
 * clients", SQLSTATE 53300) the test waits for one to be freed, up to `waitMs`, instead of failing.
 */
export async function connectPostgres(connectionString: string, waitMs = 60_000): Promise<pg.Client> {
  const deadline = Date.now() + waitMs;
  for (let pause = 100; ; pause = Math.min(pause * 2, 2_000)) {
    const client = new pg.Client({ connectionString });
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      if ((error as { code?: string }).code !== '53300' || Date.now() + pause > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/**
 * The statement a store's wake-up listener runs for `schema`'s tables (the channel is named after the schema):
 * for a test's own LISTEN, and as pg_stat_activity shows it on a listening backend.
 */
export function listenStatement(schema: string): string {
  return `LISTEN "${`stent_${schema}`.toLowerCase()}"`;
}

/** A wake event as another process hears it on the schema's channel (see PostgresWakeBus). */
export interface HeardEvent {
  type: string;
  of?: string;
  executionId?: string;
}

/**
 * Another process's ear: a connection listening on `schema`'s channel, collecting every wake event of every
 * NOTIFY in `heard`. `end()` closes it.
 */
export async function listenToWakeEvents(schema: string): Promise<{ heard: HeardEvent[]; end(): Promise<void> }> {
  const listener = await connectPostgres(POSTGRES_URL);
  const heard: HeardEvent[] = [];
  listener.on('notification', (message) => heard.push(...(JSON.parse(message.payload ?? '{}') as { e: HeardEvent[] }).e));
  await listener.query(listenStatement(schema));
  return { heard, end: () => listener.end().catch(() => undefined) };
}

/** Backends of the server at `url` listening for Stent's wake-ups on `schema`'s tables. */
export async function listenerPids(url: string, schema: string): Promise<number[]> {
  const client = await connectPostgres(url);
  // A server stopped by the test while this asks must fail the call, not the process.
  client.on('error', () => undefined);
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE query = $1', [listenStatement(schema)]);
    return rows.map((row) => Number(row.pid));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The files under `dir` that this process has open (Linux: its descriptors in /proc/self/fd). */
function filesHeldUnder(dir: string): string[] {
  const held = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return []; // not Linux: nothing to check with
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed since it was listed
    }
    if (target.startsWith(`${dir}/`)) held.add(target.slice(dir.length + 1));
  }
  return [...held].sort();
}

/** A database of its own for one test: a new SQLite file, or a new PostgreSQL schema. */
export async function createTestDatabase(backend: Backend): Promise<TestDatabase> {
  if (backend === 'sqlite' || backend === 'sqlite3') {
    const dir = mkdtempSync(join(tmpdir(), 'stent-test-'));
    const file = join(dir, 'stent.db');
    const sqlite3 = backend === 'sqlite3';
    return {
      dialect: 'sqlite',
      backend,
      options: { type: sqlite3 ? 'sqlite' : 'better-sqlite3', database: file },
      url: sqlite3 ? `sqlite3:${file}` : file,
      dispose: async () => {
        // Checked before the files go: a connection left open here would go on writing to a deleted file
        // beside the next test's, and hides a close that the code under test forgot.
        const held = filesHeldUnder(dir);
        rmSync(dir, { recursive: true, force: true });
        if (held.length > 0) throw new Error(`this process still has ${held.join(', ')} open: a store or connection of the test was not closed`);
      },
    };
  }
  const schema = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const client = await connectPostgres(POSTGRES_URL);
  try {
    await client.query(`CREATE SCHEMA "${schema}"`);
  } finally {
    await client.end();
  }
  return {
    dialect: backend,
    backend,
    // A small pool: test files run side by side (and suites beside other work) on one server of 100 connections.
    options: { type: 'postgres', url: TEST_SCHEMA_URL, schema, poolSize: 4 },
    url: `${TEST_SCHEMA_URL}&schema=${schema}`,
    schema,
    dispose: async () => {
      const cleanup = await connectPostgres(POSTGRES_URL);
      try {
        await cleanup.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await cleanup.end();
      }
    },
  };
}
