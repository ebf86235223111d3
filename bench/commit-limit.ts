import Database from 'better-sqlite3';
import pg from 'pg';
import { POSTGRES_URL } from './database.js';
import { secondsSince } from './report.js';
import { processCpuMs } from './server-usage.js';

/** How many single-row commits were made in how long. */
export interface CommitRate {
  commits: number;
  seconds: number;
  /** CPU the server's backends spent on them (PostgreSQL only). */
  dbCpuMs?: number;
}

/** A payload about the size of a small journal row. */
const PAYLOAD = JSON.stringify({ kind: 'activity', name: 'BenchActivities.add', args: [1, 2], queue: 'default' });

/**
 * The database's own commit rate on SQLite: single-row INSERTs, each its own (autocommit) transaction,
 * with better-sqlite3 on `file` in WAL mode with synchronous=NORMAL (the settings Stent uses).
 */
export function sqliteCommitLimit(file: string, durationMs: number): CommitRate {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE commit_probe (id INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL, created_at INTEGER NOT NULL)');
    const insert = db.prepare('INSERT INTO commit_probe (payload, created_at) VALUES (?, ?)');
    for (let i = 0; i < 200; i++) insert.run(PAYLOAD, Date.now()); // warm-up
    const start = process.hrtime.bigint();
    const deadline = Date.now() + durationMs;
    let commits = 0;
    while (Date.now() < deadline) {
      for (let i = 0; i < 100; i++) insert.run(PAYLOAD, Date.now());
      commits += 100;
    }
    return { commits, seconds: secondsSince(start) };
  } finally {
    db.close();
  }
}

/**
 * The database's own commit rate on PostgreSQL: single-row INSERTs in autocommit mode with `pg`,
 * from `clients` connections at once (each waits for its commit before the next insert).
 */
export async function postgresCommitLimit(schema: string, clients: number, durationMs: number): Promise<CommitRate> {
  const table = `"${schema}".commit_probe_${clients}`;
  const connections: pg.Client[] = [];
  try {
    for (let i = 0; i < clients; i++) {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      client.on('error', () => undefined);
      connections.push(client);
      await client.connect();
    }
    await connections[0]!.query(`CREATE TABLE ${table} (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL, created_at BIGINT NOT NULL)`);
    const sql = `INSERT INTO ${table} (payload, created_at) VALUES ($1, $2)`;
    await Promise.all(connections.map(async (client) => {
      for (let i = 0; i < 50; i++) await client.query({ name: 'probe', text: sql, values: [PAYLOAD, Date.now()] }); // warm-up
    }));
    const pids = await Promise.all(connections.map(async (client) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
    const cpu = () => pids.reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), 0);
    const cpuBefore = cpu();
    const start = process.hrtime.bigint();
    const deadline = Date.now() + durationMs;
    const counts = await Promise.all(
      connections.map(async (client) => {
        let commits = 0;
        while (Date.now() < deadline) {
          await client.query({ name: 'probe', text: sql, values: [PAYLOAD, Date.now()] });
          commits++;
        }
        return commits;
      }),
    );
    const seconds = secondsSince(start);
    return { commits: counts.reduce((a, b) => a + b, 0), seconds, dbCpuMs: cpu() - cpuBefore };
  } finally {
    await Promise.all(connections.map((client) => client.end().catch(() => undefined)));
  }
}

/** PostgreSQL settings that decide what a commit costs, reported next to the rate. */
export async function postgresCommitSettings(): Promise<{ synchronous_commit: string; fsync: string }> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const sync = await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
    const fsync = await client.query<{ fsync: string }>('SHOW fsync');
    return { synchronous_commit: sync.rows[0]!.synchronous_commit, fsync: fsync.rows[0]!.fsync };
  } finally {
    await client.end().catch(() => undefined);
  }
}
