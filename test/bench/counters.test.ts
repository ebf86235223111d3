import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { baselineKey, isRegression } from '../../bench/baselines.js';
import { parseOptions } from '../../bench/options.js';
import { installSqlCounter, sqlCounts, sqlCountsSince, uncounted } from '../../bench/sql-counter.js';
import { POSTGRES_URL } from '../support/databases.js';

// The bench's own instruments: what it counts at the drivers, and when a line counts as a regression.

describe('the bench counts statements, transactions and commits at the drivers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stent-bench-counter-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('on SQLite: a transaction is one commit whatever it holds; a read outside one commits nothing', () => {
    installSqlCounter();
    const db = new Database(join(dir, 'counted.db'));
    try {
      db.prepare('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)').run();
      let start = sqlCounts();
      db.prepare('BEGIN IMMEDIATE').run();
      db.prepare('INSERT INTO t (v) VALUES (?)').run('a');
      db.prepare('UPDATE t SET v = ? WHERE id = 1').run('b');
      db.prepare('COMMIT').run();
      expect(sqlCountsSince(start)).toEqual({ statements: 4, transactions: 1, commits: 1 });
      start = sqlCounts();
      db.prepare('SELECT v FROM t').all();
      db.prepare('INSERT INTO t (v) VALUES (?)').run('c');
      expect(sqlCountsSince(start)).toEqual({ statements: 2, transactions: 2, commits: 1 });
    } finally {
      db.close();
    }
  });

  it('on PostgreSQL: the same, and a client marked uncounted (the bench probing the server) is left out', async () => {
    installSqlCounter();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    const probe = uncounted(new pg.Client({ connectionString: POSTGRES_URL }));
    await client.connect();
    await probe.connect();
    try {
      await client.query('CREATE TEMP TABLE counted (id SERIAL PRIMARY KEY, v TEXT)');
      let start = sqlCounts();
      await client.query('BEGIN');
      await client.query({ name: 'counted_insert', text: 'INSERT INTO counted (v) VALUES ($1)', values: ['a'] });
      await client.query('SELECT v FROM counted FOR UPDATE');
      await client.query('COMMIT');
      await probe.query('SELECT 1');
      expect(sqlCountsSince(start)).toEqual({ statements: 4, transactions: 1, commits: 1 });
      start = sqlCounts();
      await client.query('SELECT 1');
      await client.query('SELECT v FROM counted FOR UPDATE');
      await client.query('INSERT INTO counted (v) VALUES ($1)', ['b']);
      // A locking read writes (the row lock): it commits like a write.
      expect(sqlCountsSince(start)).toEqual({ statements: 3, transactions: 3, commits: 2 });
    } finally {
      await client.end();
      await probe.end();
    }
  });
});

describe('the regression flag', () => {
  it('is true only when a ratio falls more than 30% below the one recorded for its line, and null without one', () => {
    // Whatever run bench/baselines.json holds now, it has a ratio for this line.
    const line = { case: 'sequential', db: 'postgres' as const, workers: 1, steps: 1000, seconds: 1 };
    expect(baselineKey(line)).toBe('sequential postgres workers=1 steps=1000');
    const baselines = JSON.parse(readFileSync(join(process.cwd(), 'bench/baselines.json'), 'utf8')) as { vs_commit_limit: Record<string, number> };
    const recorded = baselines.vs_commit_limit[baselineKey(line)]!;
    expect(recorded).toBeGreaterThan(0);
    expect(isRegression(line, recorded * 0.71)).toBe(false);
    expect(isRegression(line, recorded * 0.69)).toBe(true);
    expect(isRegression({ ...line, steps: 1001 }, 0.001)).toBeNull();
  });

  it('tells variants of a case apart by their via, measured and variant fields', () => {
    const base = { case: 'fanout', db: 'sqlite' as const, workers: 1, steps: 1000, seconds: 1 };
    expect(baselineKey({ ...base, extra: { via: 'Promise.all', concurrency: 100 } })).toBe('fanout sqlite workers=1 steps=1000 via=Promise.all');
    expect(baselineKey({ ...base, case: 'sleepers', extra: { measured: 'wake_to_all_completed' } })).toBe('sleepers sqlite workers=1 steps=1000 measured=wake_to_all_completed');
    // flow_limits' unlimited and keyed runs share case, database, processes and steps.
    const keyed = baselineKey({ ...base, case: 'flow_limits', extra: { variant: 'keyed', concurrency: 50 } });
    expect(keyed).toBe('flow_limits sqlite workers=1 steps=1000 variant=keyed');
    expect(baselineKey({ ...base, case: 'flow_limits', extra: { variant: 'unlimited', concurrency: 50 } })).not.toBe(keyed);
  });
});

describe('bench options', () => {
  it('--profile needs exactly one case and defaults its directory', () => {
    expect(() => parseOptions(['--profile'])).toThrow(/exactly one --case/);
    expect(() => parseOptions(['--profile', '--case', 'sequential,latency'])).toThrow(/exactly one --case/);
    expect(parseOptions(['--profile', '--case', 'sequential']).profileDir).toBe('bench-profiles');
    expect(parseOptions(['--case', 'sequential', '--profile', '--profile-dir', '/tmp/p']).profileDir).toBe('/tmp/p');
    expect(parseOptions([]).profileDir).toBeUndefined();
  });
});
