import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, DatabaseUnavailableError, defineActivity, defineWorkflow, StentExecutor, type StentStore } from 'nestjs-stent';
import { openInspector } from '../support/inspector.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

class Noop {
  async run(): Promise<string> {
    return 'done';
  }
}
defineWorkflow(Noop);

class EchoActs {
  async echo(n: number): Promise<number> {
    return n;
  }
}
defineActivity(EchoActs);

class Echo {
  constructor(private readonly acts: EchoActs) {}
  async run(n: number): Promise<number> {
    return this.acts.echo(n);
  }
}
defineWorkflow(Echo);

describe.each(BACKENDS)('migrations on %s', (backend) => {
  let db: TestDatabase;
  const stores: StentStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close().catch(() => undefined);
    await db?.dispose();
  });

  it('many processes may migrate one database at once; each migration is applied exactly once', async () => {
    db = await createTestDatabase(backend);
    const opened = await Promise.all(Array.from({ length: 6 }, () => createStentStore({ database: db.options })));
    stores.push(...opened);
    await Promise.all(opened.map((store) => store.migrate()));
    await Promise.all(opened.map((store) => store.migrate()));
    const executor = new StentExecutor({ store: opened[0]!, worker: false });
    executor.register(new Noop());
    const id = await executor.dispatch(Noop, []);
    expect((await executor.getExecution(id)).state).toBe('pending');
    const [other] = opened.slice(1);
    expect(await other!.getExecution(id)).not.toBeNull();
  });

  it('a worker keeps working when a later migration adds columns to its tables (no cached plan breaks)', async () => {
    db = await createTestDatabase(backend);
    const store = await createStentStore({ database: db.options });
    stores.push(store);
    const executor = new StentExecutor({ store, worker: { pollInterval: '20ms', maxPollInterval: '100ms' } });
    const acts = new EchoActs();
    executor.register(acts, new Echo(acts));
    await executor.start();
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      ids.push(await executor.dispatch(Echo, [i]));
      expect((await executor.waitFor(ids[i]!, { timeout: '20s' })).value).toBe(i);
      expect((await executor.getExecution(ids[i]!)).state).toBe('completed');
      expect(await executor.getJournal(ids[i]!)).toHaveLength(1);
    }
    const inspector = await openInspector(db);
    try {
      for (const table of [inspector.t.executions, inspector.t.steps]) await inspector.query(`ALTER TABLE ${table} ADD COLUMN added_later INTEGER NULL`);
    } finally {
      await inspector.close();
    }
    for (let i = 0; i < 8; i++) {
      expect((await executor.waitFor(await executor.dispatch(Echo, [i]), { timeout: '20s' })).value).toBe(i);
      expect((await executor.getExecution(ids[i]!)).state).toBe('completed');
      expect((await executor.getJournal(ids[i]!))[0]!.result).toBe(i);
    }
    await executor.drain('2s');
  });

  it('a store that was never migrated fails with the database error, and works after migrate()', async () => {
    db = await createTestDatabase(backend);
    const store = await createStentStore({ database: db.options });
    stores.push(store);
    await expect(store.getExecution('x')).rejects.toThrow();
    await store.migrate();
    expect(await store.getExecution('x')).toBeNull();
  });
});

describe('database unreachable at start', () => {
  it('retries with backoff, then fails with DatabaseUnavailableError (nothing listens on the port)', async () => {
    const warnings: string[] = [];
    const started = Date.now();
    const error = await createStentStore({
      database: { type: 'postgres', url: 'postgres://postgres@127.0.0.1:1/test' },
      connectTimeout: '1500ms',
      logger: { warn: (message) => warnings.push(message) },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as DatabaseUnavailableError).attempts).toBeGreaterThanOrEqual(3);
    expect(warnings.length).toBe((error as DatabaseUnavailableError).attempts - 1);
    expect(warnings[0]).toMatch(/database unreachable .*retrying in 200 ms/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
