import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { createStentStore, DatabaseUnavailableError, defineActivity, defineWorkflow, ManualClock, openStentStore, StentExecutor, stentEntities, type WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { openInspector } from '../support/inspector.js';
import { waitUntil } from '../support/wait.js';

class ReadyActs {
  async echo(value: string): Promise<string> {
    return value;
  }
}
defineActivity(ReadyActs);

class ReadyFlow {
  constructor(private readonly acts: ReadyActs) {}
  async run(value: string): Promise<string> {
    return this.acts.echo(value);
  }
}
defineWorkflow(ReadyFlow);

/** Claim rounds fail on purpose here: keep their error log out of the output. */
const quiet = { log() {}, warn() {}, error() {} };

const WORKER: WorkerOptions = { concurrency: 2, pollInterval: '20ms', maxPollInterval: '100ms', lease: '10s' };

describe.each(DIALECTS)('readiness reflects reality (%s)', (dialect) => {
  let db: TestDatabase | undefined;
  let executor: StentExecutor | undefined;

  afterEach(async () => {
    await executor?.close(0).catch(() => undefined);
    executor = undefined;
    await db?.dispose();
    db = undefined;
  });

  it("claims failing repeatedly make it 'unavailable' with the reason; 'ready' again once they succeed", async () => {
    db = await createTestDatabase(dialect);
    executor = new StentExecutor({ store: await createStentStore({ database: db.options }), worker: WORKER, logger: quiet });
    const acts = new ReadyActs();
    executor.register(acts, new ReadyFlow(acts));
    expect(executor.readinessDetail()).toMatchObject({ readiness: 'starting', ready: false, worker: 'idle' });
    await executor.start();
    expect(executor.readinessDetail()).toEqual({ readiness: 'ready', ready: true, worker: 'running', reason: null, since: null });

    // Take the steps table away: every claim round fails with the database's error.
    const inspector = await openInspector(db);
    try {
      await inspector.query(`ALTER TABLE ${inspector.t.steps} RENAME TO stent_steps_away`);
      await waitUntil(() => executor!.readiness() === 'unavailable', 'readiness to turn unavailable', 20_000);
      const detail = executor.readinessDetail();
      expect(detail).toMatchObject({ readiness: 'unavailable', ready: false, worker: 'running' });
      expect(detail.reason).toMatch(/^claims failing \(\d+ round\(s\) in a row\): .*stent_steps/);
      expect(detail.since).toBeInstanceOf(Date);
      expect(detail.error).toBeInstanceOf(Error);

      await inspector.query(`ALTER TABLE ${dialect === 'postgres' ? `"${db.schema}".stent_steps_away` : 'stent_steps_away'} RENAME TO stent_steps`);
      await waitUntil(() => executor!.readiness() === 'ready', 'readiness to come back', 20_000);
    } finally {
      await inspector.close();
    }
    const id = await executor.dispatch(ReadyFlow, ['still works']);
    expect((await executor.waitFor(id, { timeout: '20s' })).value).toBe('still works');
  });
});

describe('readiness when start() fails (read-only SQLite file)', () => {
  let dir: string | undefined;

  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("start() rejects and readiness is 'unavailable' with the database's reason, not 'ready'", async () => {
    dir = mkdtempSync(join(tmpdir(), 'stent-readonly-'));
    const file = join(dir, 'stent.db');
    // A migrated database, then opened read-only (as a file the process may not write would be).
    const setup = await createStentStore({ database: { type: 'better-sqlite3', database: file } });
    await setup.migrate();
    await setup.close();
    new Database(file).pragma('journal_mode = DELETE');
    chmodSync(file, 0o444);
    const dataSource = new DataSource({ type: 'better-sqlite3', database: file, readonly: true, entities: stentEntities } as never);
    await dataSource.initialize();
    const executor = new StentExecutor({ store: await createStentStore({ dataSource }), worker: WORKER, logger: quiet });
    try {
      const acts = new ReadyActs();
      executor.register(acts, new ReadyFlow(acts));
      await expect(executor.start()).rejects.toThrow(/readonly/i);
      const detail = executor.readinessDetail();
      expect(detail).toMatchObject({ readiness: 'unavailable', ready: false, worker: 'idle' });
      expect(detail.reason).toMatch(/^start failed: .*readonly/i);
      expect(executor.readiness()).toBe('unavailable');
    } finally {
      await executor.close(0);
      await dataSource.destroy();
    }
  });
});

describe('startInBackground: a start tried again with back-off on the executor clock', () => {
  it("keeps 'starting' with the reason while the database is unreachable, tries again as the clock moves, gives up on close", async () => {
    const clock = new ManualClock();
    const warnings: string[] = [];
    // Nothing listens on port 1: each try is refused at once (connectTimeout bounds one try).
    const store = openStentStore({ database: { type: 'postgres', url: 'postgres://postgres@127.0.0.1:1/test' }, connectTimeout: '50ms' });
    const executor = new StentExecutor({ store, worker: WORKER, clock, logger: { ...quiet, warn: (m: string) => warnings.push(m) } });
    const firstTry = await executor.startInBackground();
    expect(firstTry).toBe(false);
    const detail = executor.readinessDetail();
    expect(detail).toMatchObject({ readiness: 'starting', ready: false, worker: 'idle' });
    expect(detail.reason).toMatch(/^the database is unreachable \(1 attempt\(s\), trying again\): /);
    expect(detail.error).toBeInstanceOf(DatabaseUnavailableError);
    expect(warnings).toEqual([expect.stringMatching(/trying again in 200 ms$/)]);

    // The pauses are timers on the executor's clock: 200 ms, then 400 ms, ...
    for (const [i, pause] of [200, 400, 800].entries()) {
      expect(clock.nextDueAt()! - clock.now()).toBe(pause);
      clock.advance(pause);
      await waitUntil(() => warnings.length === i + 2, `try ${i + 2}`, 10_000, 5);
      expect(warnings[i + 1]).toMatch(new RegExp(`trying again in ${pause * 2} ms$`));
    }
    expect(executor.readinessDetail().reason).toMatch(/\(4 attempt\(s\), trying again\)/);

    const closing = Date.now();
    await executor.close(0);
    expect(Date.now() - closing).toBeLessThan(3_000);
    expect(clock.pendingTimers).toBe(0);
    // Given up: no further try however far the clock moves.
    clock.advance('1h');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(warnings).toHaveLength(4);
  });
});
