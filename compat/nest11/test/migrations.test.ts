import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createStentStore, runStentMigrations, StentExecutor, stentMigrationClasses, stentMigrations } from 'nestjs-stent';
import { DataSource } from 'typeorm';
import { tempDatabase } from './support.js';

describe("Stent's migrations on a TypeORM 0.3 'sqlite' DataSource", () => {
  let dataSource: DataSource | undefined;
  let database: ReturnType<typeof tempDatabase> | undefined;
  afterEach(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    database?.dispose();
  });

  it('runStentMigrations applies every migration once, then none', async () => {
    database = tempDatabase();
    dataSource = await new DataSource({ type: 'sqlite', database: database.file }).initialize();
    const first = await runStentMigrations(dataSource);
    assert.deepEqual(first, stentMigrations().map((migration) => migration.name));
    assert.deepEqual(await runStentMigrations(dataSource), []);
    const store = await createStentStore({ dataSource });
    const executor = new StentExecutor({ store, worker: false });
    await executor.start();
    assert.equal((await executor.listExecutions()).items.length, 0);
    await executor.close();
  });

  it("stentMigrationClasses in the application's own migrations, run by TypeORM", async () => {
    database = tempDatabase();
    dataSource = await new DataSource({ type: 'sqlite', database: database.file, migrations: [...stentMigrationClasses] }).initialize();
    const ran = await dataSource.runMigrations();
    assert.equal(ran.length, stentMigrations().length);
    const tables: Array<{ name: string }> = await dataSource.query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'stent_%'`);
    assert.ok(tables.some((table) => table.name === 'stent_executions'));
  });
});
