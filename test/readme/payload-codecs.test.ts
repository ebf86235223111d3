// The README's "Payload codecs" example, as written, on PostgreSQL: payloads are stored encrypted and read back.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Module, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { StentExecutor, Workflow } from 'nestjs-stent';
import { POSTGRES_URL, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { importReadmeExample } from '../support/readme-example.js';

@Workflow()
class CardWorkflow {
  async run(card: string): Promise<string> {
    return `charged ${card}`;
  }
}

describe('the README payload codec example, as written', () => {
  let app: INestApplicationContext | undefined;
  let db: TestDatabase | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    await app?.close();
    await db?.dispose();
    for (const cleanup of cleanups.splice(0)) cleanup();
    for (const name of ['DATABASE_URL', 'STENT_KEY_2026_06', 'STENT_KEY_2026_01']) delete process.env[name];
  });

  it('keeps the plaintext out of the database and hands it back to the application', async () => {
    db = await createTestDatabase('postgres');
    // The example reads DATABASE_URL; this one's search path is the test's own schema.
    process.env.DATABASE_URL = `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${db.schema}`)}`;
    process.env.STENT_KEY_2026_06 = randomBytes(32).toString('base64');
    process.env.STENT_KEY_2026_01 = randomBytes(32).toString('base64');
    const { module, cleanup } = await importReadmeExample<{ AppModule: Type<unknown> }>('Payload codecs');
    cleanups.push(cleanup);
    @Module({ imports: [module.AppModule], providers: [CardWorkflow] })
    class TestApp {}
    app = await NestFactory.createApplicationContext(TestApp, { logger: false });
    const executor = app.get(StentExecutor);
    const id = await executor.dispatch(CardWorkflow, ['4242-4242-secret']);
    expect((await executor.waitFor(id, { timeout: '20s' })).unwrap()).toBe('charged 4242-4242-secret');
    expect((await executor.getExecution(id)).args).toEqual(['4242-4242-secret']);

    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ row: string }>(`SELECT t::text AS row FROM "${db.schema}".stent_executions t`);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.row).not.toContain('4242-4242'); // not just '4242', which a random execution id may hold
      expect(rows[0]!.row).toContain('2026-06'); // the current key's id, beside each payload
    } finally {
      await client.end();
    }
  });
});
