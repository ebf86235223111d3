import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS, POSTGRES_URL, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { jsonOf, runStent } from '../support/stent-cli.js';
import { waitUntil } from '../support/wait.js';
import { Approval, Checkout, operatingInstances } from '../fixtures/operating-flows.js';

describe('the stent CLI and its database', () => {
  const dirs: string[] = [];
  const dbs: TestDatabase[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    for (const db of dbs.splice(0)) await db.dispose();
  });

  it('without a database, or with a SQLite file that does not exist, it says so (exit 2)', async () => {
    const none = await runStent(['list']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('stent: no database: pass --database <sqlite file | postgres URL> or set STENT_DATABASE_URL [STENT_CLI_USAGE]\n');
    const dir = mkdtempSync(join(tmpdir(), 'stent-cli-'));
    dirs.push(dir);
    const missing = await runStent(['list', '--database', join(dir, 'nope.db')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`stent: no SQLite database at ${join(dir, 'nope.db')} (run 'stent migrate' to create one) [STENT_CLI_USAGE]\n`);
  });

  it('bad arguments exit 2 with one line on stderr, before any database is opened', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['list', '--limit', 'lots'], /^stent: --limit: expected a whole number from 1 to 1000, got 'lots' \[STENT_CLI_USAGE\]\n$/],
      [['list', '--bogus'], /^stent: Unknown option '--bogus' \[STENT_CLI_USAGE\]\n$/],
      [['show'], /^stent: missing <id> \[STENT_CLI_USAGE\]\n$/],
      [['show', 'a', 'b'], /^stent: unexpected argument 'b' \[STENT_CLI_USAGE\]\n$/],
      [['frobnicate'], /^stent: unknown command 'frobnicate' .*\n$/],
      [['dlq', 'requeue', 'x'], /^stent: unknown command 'dlq requeue' .*\n$/],
      [['cleanup'], /^stent: cleanup needs --older-than <duration>.*\n$/],
      [['cleanup', '--older-than', 'a month'], /^stent: --older-than: 'a month' is not a duration.*\n$/],
      [['cleanup', '--older-than', '1d', '--state', 'running'], /^stent: --state: 'running' is not a final state.*\n$/],
      [['watch', '--frames', '0'], /^stent: --frames: expected a whole number from 1 to .*\n$/],
      [[], /^Usage: stent <command> \[options\]\n/],
    ];
    // A database that does not exist: none of these gets as far as opening it. The runs are independent
    // processes, started together.
    const runs = await Promise.all(cases.map(([args]) => runStent(args, { STENT_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' })));
    for (const [index, [args, stderr]] of cases.entries()) {
      const run = runs[index]!;
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(stderr);
      expect(run.stdout, args.join(' ')).toBe('');
    }
    const help = await runStent(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['list', 'show <id>', 'dlq list', 'dlq show <id>', 'dlq replay <id>', 'dlq replay-all', 'dlq discard <id>', 'cancel <id>', 'signal <id> <name> [json]', 'retry <id>', 'stats', 'workers', 'watch', 'migrate', 'cleanup']) {
      expect(help.stdout).toContain(`\n  ${command}`);
    }
    const commandHelp = await runStent(['cleanup', '--help']);
    expect(commandHelp.stdout).toMatch(/^Usage: stent cleanup \[options\]\n[\s\S]*--older-than <duration>[\s\S]*--dry-run/);
  });

  it('an unreachable PostgreSQL is exit 5 with one line, after the connect timeout', async () => {
    const started = Date.now();
    const run = await runStent(['stats', '--database', 'postgres://postgres@127.0.0.1:1/test', '--connect-timeout', '1s']);
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/^stent: Stent could not connect to its database within \d+ ms \(\d+ attempt\(s\)\): .*ECONNREFUSED.* \[STENT_DATABASE_UNAVAILABLE\]\n$/);
    expect(run.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it.each(DIALECTS)('on %s: a database without Stent tables is exit 1 with a hint; migrate creates them (in ?schema= on PostgreSQL)', async (dialect) => {
    const db = await createTestDatabase(dialect);
    dbs.push(db);
    if (dialect === 'sqlite') writeFileSync(db.url, '');
    const before = await runStent(['list', '--database', db.url]);
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(/no Stent tables here: run 'stent migrate', or check --database and \?schema=\)\n$/);
    expect(before.stderr.split('\n')).toHaveLength(2);
    const migrate = await runStent(['migrate', '--database', db.url]);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toBe("Stent's tables are up to date.\n");
    const after = await runStent(['list', '--database', db.url, '--json']);
    expect(jsonOf(after)).toEqual({ items: [], total: 0, limit: 50, offset: 0, nextCursor: null });
    if (dialect === 'postgres') {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        const { rows } = await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [db.schema]);
        expect(rows.map((row) => row.table_name)).toContain('stent_executions');
      } finally {
        await client.end();
      }
    }
  });

  it('migrate creates a new SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stent-cli-'));
    dirs.push(dir);
    const file = join(dir, 'fresh.db');
    const run = await runStent(['migrate', '--database', file]);
    expect(run.code, run.stderr).toBe(0);
    expect((await runStent(['stats', '--database', file, '--json'])).code).toBe(0);
  });

  describe.each(DIALECTS)('cleanup on %s', (dialect) => {
    let set: ExecutorSet | undefined;
    afterEach(async () => {
      await set?.dispose();
      set = undefined;
    });

    it('--dry-run counts and removes nothing; --yes removes finished trees and leaves running ones', async () => {
      set = await ExecutorSet.create(dialect);
      const executor = await set.executor(operatingInstances(), QUICK_WORKER);
      const done = await executor.dispatch(Checkout, ['o-1', [1, 2, 3]]);
      const waiting = await executor.dispatch(Approval, ['keep me']);
      expect((await executor.waitFor(done, { timeout: '30s' })).state).toBe('completed');
      await waitUntil(async () => (await executor.getExecution(waiting)).progress, 'the approval to wait');
      const db = set.db.url;

      const dry = await runStent(['cleanup', '--older-than', '0s', '--dry-run', '--database', db, '--json']);
      expect(dry.code, dry.stderr).toBe(0);
      const steps = (await Promise.all((await executor.listExecutions()).items.filter((item) => item.id !== waiting).map((item) => executor.getJournal(item.id)))).flat().length;
      expect(jsonOf(dry)).toMatchObject({ dryRun: true, executions: 4, steps, skipped: 0 });
      expect((await executor.listExecutions()).total).toBe(5);

      const onlyFailed = await runStent(['cleanup', '--older-than', '0s', '--state', 'failed', '--yes', '--database', db, '--json']);
      expect(jsonOf(onlyFailed)).toMatchObject({ executions: 0 });

      const human = await runStent(['cleanup', '--older-than', '0s', '--yes', '--database', db]);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/^Removed:\n\s+Executions:\s+4 \(finished before .* UTC, children included\)\n\s+Steps:\s+\d+\n/);
      const left = await executor.listExecutions();
      expect(left.items.map((item) => item.id)).toEqual([waiting]);
      await executor.sendSignal(waiting, 'approve', 'ok');
      expect((await executor.waitFor(waiting, { timeout: '30s' })).state).toBe('completed');
    });
  });
});
