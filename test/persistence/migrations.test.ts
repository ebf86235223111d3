import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, DatabaseUnavailableError, defineWorkflow, StentExecutor, type StentStore } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';

class Noop {
  async run(): Promise<string> {
    return 'done';
  }
}
defineWorkflow(Noop);

describe.each(DIALECTS)('migrations on %s', (dialect) => {
  let db: TestDatabase;
  const stores: StentStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close().catch(() => undefined);
    await db?.dispose();
  });

  it('many processes may migrate one database at once; each migration is applied exactly once', async () => {
    db = await createTestDatabase(dialect);
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

  it('a store that was never migrated fails with the database error, and works after migrate()', async () => {
    db = await createTestDatabase(dialect);
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
