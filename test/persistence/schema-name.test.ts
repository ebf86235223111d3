import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, InvalidNameError, runStentMigrations, tableNames } from 'nestjs-stent/internal';
import { createTestDatabase, POSTGRES_URL, type TestDatabase } from '../support/databases.js';

async function schemaExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('schema names (PostgreSQL)', () => {
  let db: TestDatabase | undefined;
  let dataSource: DataSource | undefined;
  afterEach(async () => {
    await dataSource?.destroy();
    dataSource = undefined;
    await db?.dispose();
    db = undefined;
  });

  it('runStentMigrations refuses a schema name it would have to write into SQL, before running anything', async () => {
    db = await createTestDatabase('postgres');
    const victim = db.schema!;
    dataSource = await new DataSource({ type: 'postgres', url: POSTGRES_URL }).initialize();
    const hostile = `x_${randomUUID().slice(0, 8)}" AUTHORIZATION CURRENT_USER; DROP SCHEMA "${victim}" CASCADE; --`;
    const error = await runStentMigrations(dataSource, tableNames(victim), hostile).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidNameError);
    expect(error).toMatchObject({ code: 'STENT_INVALID_NAME', kind: 'schema', value: hostile });
    expect(await schemaExists(victim)).toBe(true);

    const tooLong = `s${'x'.repeat(63)}`;
    await expect(runStentMigrations(dataSource, tableNames(victim), tooLong)).rejects.toMatchObject({ code: 'STENT_INVALID_NAME', kind: 'schema' });
    await expect(runStentMigrations(dataSource, tableNames(victim), 'with\u0000nul')).rejects.toBeInstanceOf(InvalidNameError);
    // A plain identifier is fine.
    expect(await runStentMigrations(dataSource, tableNames(victim), victim)).not.toHaveLength(0);
  });

  it('createStentStore refuses the same names with the same typed error', async () => {
    await expect(createStentStore({ database: { type: 'postgres', url: POSTGRES_URL, schema: 'bad"name' } })).rejects.toMatchObject({ code: 'STENT_INVALID_NAME', kind: 'schema' });
    await expect(createStentStore({ database: { type: 'postgres', url: POSTGRES_URL, schema: '1abc' } })).rejects.toBeInstanceOf(InvalidNameError);
  });
});
