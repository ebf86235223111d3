import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, databaseFromUrl, defineActivity, defineWorkflow, StentExecutor } from 'nestjs-stent';
import { QUICK_WORKER } from '../support/executor-set.js';
import { TestProcess, killAllProcesses } from '../support/child-process.js';
import { WorkerProcess } from '../support/worker-process.js';
import { SeqFlow } from '../fixtures/fault-flows.js';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

class Doubler {
  async double(n: number): Promise<number> {
    return n * 2;
  }
}
defineActivity(Doubler);

class DoubleFlow {
  constructor(private readonly acts: Doubler) {}
  async run(n: number): Promise<number> {
    return this.acts.double(n);
  }
}
defineWorkflow(DoubleFlow);

describe("database type 'sqlite' (the sqlite3 package)", () => {
  const executors: StentExecutor[] = [];
  let dir: string | undefined;
  afterEach(async () => {
    await killAllProcesses();
    for (const executor of executors.splice(0).reverse()) await executor.close('2s').catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function open(database: Parameters<typeof createStentStore>[0]['database'], worker: typeof QUICK_WORKER | false): Promise<StentExecutor> {
    const executor = new StentExecutor({ store: await createStentStore({ database }), worker });
    executors.push(executor);
    executor.register(new Doubler(), new DoubleFlow(new Doubler()));
    await executor.start();
    return executor;
  }

  it('sqlite3: URLs name it; sqlite: and plain paths stay better-sqlite3', () => {
    expect(databaseFromUrl('sqlite3:/var/data/app.db')).toEqual({ type: 'sqlite', database: '/var/data/app.db' });
    expect(databaseFromUrl('sqlite3://./app.db')).toEqual({ type: 'sqlite', database: './app.db' });
    expect(databaseFromUrl('sqlite:app.db')).toEqual({ type: 'better-sqlite3', database: 'app.db' });
    expect(databaseFromUrl('app.db')).toEqual({ type: 'better-sqlite3', database: 'app.db' });
  });

  it('creates the file (and its directory) in WAL mode, migrated, and closes it with the executor', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stent-sqlite3-'));
    const file = join(dir, 'nested', 'stent.db');
    const executor = await open({ type: 'sqlite', database: file }, QUICK_WORKER);
    const id = await executor.dispatch(DoubleFlow, [21]);
    expect((await executor.waitFor(id, { timeout: '15s' })).value).toBe(42);
    expect(existsSync(`${file}-wal`)).toBe(true);
    await executor.close('2s');
    // Closed: the last connection to leave a WAL database checkpoints it and removes the -wal file.
    expect(existsSync(`${file}-wal`)).toBe(false);
    // Read only once Stent's connection is closed: two copies of SQLite in one process must not share a file.
    const outside = new Database(file, { readonly: true });
    try {
      expect(outside.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(outside.prepare('SELECT COUNT(*) AS n FROM stent_migrations').get()).toEqual({ n: expect.any(Number) });
      expect(outside.prepare('SELECT result FROM stent_executions WHERE id = ?').get(id)).toEqual({ result: '42' });
    } finally {
      outside.close();
    }
  });

  it('shares a file with a better-sqlite3 worker in another process: this process dispatches, that one runs the work', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stent-sqlite3-'));
    const file = join(dir, 'stent.db');
    const client = await open({ type: 'sqlite', database: file }, false);
    await WorkerProcess.start({ url: file, worker: QUICK_WORKER, fixture: 'fault-flows.js', instances: 'faultInstances', evidenceDir: dir });
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => client.dispatch(SeqFlow, [[i, 1]])));
    for (const id of ids) {
      const result = await client.waitFor<string[]>(id, { timeout: '30s' });
      expect(result.state).toBe('completed');
      expect(result.value).toHaveLength(2);
    }
  });

  it('waits for a write lock another process holds without blocking the event loop, then writes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stent-sqlite3-'));
    const file = join(dir, 'stent.db');
    const executor = await open({ type: 'sqlite', database: file, busyTimeout: 20_000 }, false);
    const holder = new TestProcess(fixture('sqlite-lock-holder.js'), { label: 'lock holder', env: { LOCK_FILE: file } });
    await holder.waitForJson((line) => line.locked === true, 'the lock holder to take the write lock', 30_000);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    try {
      const started = Date.now();
      const id = await executor.dispatch(DoubleFlow, [1]);
      // It waited for the holder (which keeps the lock 1 s)...
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      // ...and the event loop kept turning meanwhile (better-sqlite3's wait would block it).
      expect(ticks).toBeGreaterThanOrEqual(20);
      expect((await executor.getExecution(id)).state).toBe('pending');
    } finally {
      clearInterval(ticker);
    }
  });

  it('refuses to open a file this process already uses through better-sqlite3 (two copies of SQLite would corrupt it)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stent-sqlite3-'));
    const file = join(dir, 'stent.db');
    const first = await open({ type: 'better-sqlite3', database: file }, false);
    await expect(createStentStore({ database: { type: 'sqlite', database: file } })).rejects.toMatchObject({
      code: 'STENT_INVALID_CONFIGURATION',
      message: expect.stringContaining('already open in this process through better-sqlite3'),
    });
    // Once the better-sqlite3 store is closed, the file is free for sqlite3.
    await first.close('2s');
    const second = await open({ type: 'sqlite', database: file }, false);
    expect(await second.listExecutions()).toMatchObject({ items: [] });
    await expect(createStentStore({ database: { type: 'better-sqlite3', database: file } })).rejects.toMatchObject({ code: 'STENT_INVALID_CONFIGURATION' });
  });

  it('a statement that cannot be prepared fails its operation, and the client goes on working', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stent-sqlite3-'));
    const executor = new StentExecutor({ store: await createStentStore({ database: { type: 'sqlite', database: join(dir, 'stent.db') } }), worker: false });
    executors.push(executor);
    // Not migrated yet: the table is missing. (The driver would throw this out of band, and never answer
    // the query, had the client not waited for the statement to be prepared.)
    await expect(executor.getExecution('nope')).rejects.toThrow(/no such table/);
    await executor.migrate();
    await expect(executor.getExecution('nope')).rejects.toMatchObject({ code: 'STENT_EXECUTION_NOT_FOUND' });
  });

  it('without the sqlite3 package: a ConfigurationError that says what to install, at once (no retrying)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stent-sqlite3-'));
    const env = { ...process.env, SQLITE3_ABSENT_DIR: dir };
    const { stdout } = await run(process.execPath, ['--import', fixture('without-sqlite3.js'), fixture('sqlite3-absent-app.js')], { env, timeout: 60_000 });
    const outcome = JSON.parse(stdout.trim().split('\n').at(-1)!) as { code: string; message: string; ms: number };
    expect(outcome.code).toBe('STENT_INVALID_CONFIGURATION');
    expect(outcome.message).toContain('npm install sqlite3');
    // connectTimeout is 20s: it failed on the first attempt.
    expect(outcome.ms).toBeLessThan(10_000);
  });
});
