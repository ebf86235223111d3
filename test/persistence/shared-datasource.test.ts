import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { Activity, StentExecutor, StentModule, Workflow } from 'nestjs-stent';
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';

@Entity({ name: 'shop_orders' })
class ShopOrder {
  @PrimaryColumn({ type: 'varchar', length: 64 }) id!: string;
  @Column({ type: 'integer' }) cents!: number;
}

@Activity()
class Fulfilment {
  async ship(orderId: string): Promise<string> {
    return `shipped ${orderId}`;
  }
}

@Workflow()
class FulfilOrder {
  constructor(private readonly fulfilment: Fulfilment) {}
  async run(orderId: string): Promise<string> {
    return this.fulfilment.ship(orderId);
  }
}

@Injectable()
class Checkout {
  constructor(
    private readonly dataSource: DataSource,
    private readonly stent: StentExecutor,
  ) {}

  /** Saves the order and dispatches its workflow in one transaction; `fail` rolls both back. */
  async place(orderId: string, fail: boolean): Promise<string | undefined> {
    let executionId: string | undefined;
    await this.dataSource
      .transaction(async (manager) => {
        await manager.save(ShopOrder, { id: orderId, cents: 1200 });
        executionId = await this.stent.dispatch(FulfilOrder, [orderId], { transaction: manager, executionId: `exec-${orderId}` });
        if (fail) throw new Error('payment declined');
      })
      .catch((error: Error) => {
        if (error.message !== 'payment declined') throw error;
      });
    return executionId;
  }
}

@Module({ providers: [Fulfilment, FulfilOrder, Checkout] })
class ShopModule {}

describe.each(DIALECTS)("sharing the application's DataSource on %s", (dialect) => {
  let db: TestDatabase;
  let app: TestingModule | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await db?.dispose();
  });

  async function boot(): Promise<TestingModule> {
    db = await createTestDatabase(dialect);
    const typeorm =
      db.options.type === 'postgres'
        ? TypeOrmModule.forRoot({ type: 'postgres', url: db.options.url, schema: db.schema, entities: [ShopOrder], synchronize: true })
        : TypeOrmModule.forRoot({ type: 'better-sqlite3', database: db.options.database, entities: [ShopOrder], synchronize: true, enableWAL: true });
    app = await Test.createTestingModule({
      imports: [
        typeorm,
        StentModule.forRootAsync({
          inject: [getDataSourceToken()],
          useFactory: (dataSource: DataSource) => ({
            dataSource,
            schema: db.schema,
            worker: { concurrency: 4, pollInterval: '20ms', maxPollInterval: '100ms' },
          }),
        }),
        ShopModule,
      ],
    }).compile();
    await app.init();
    return app;
  }

  it("creates the execution in the caller's transaction: committed with it", async () => {
    const module = await boot();
    const executionId = await module.get(Checkout).place('o-commit', false);
    expect(executionId).toBe('exec-o-commit');
    const dataSource = module.get(DataSource);
    expect(await dataSource.getRepository(ShopOrder).countBy({ id: 'o-commit' })).toBe(1);
    const result = await module.get(StentExecutor).waitFor(executionId!, { timeout: '20s' });
    expect(result.value).toBe('shipped o-commit');
  });

  it("and rolled back with it: neither the order nor the execution exists", async () => {
    const module = await boot();
    const executionId = await module.get(Checkout).place('o-rollback', true);
    expect(executionId).toBe('exec-o-rollback');
    expect(await module.get(DataSource).getRepository(ShopOrder).countBy({ id: 'o-rollback' })).toBe(0);
    await expect(module.get(StentExecutor).getExecution(executionId!)).rejects.toThrow(/No execution with id 'exec-o-rollback'/);
  });

  it("keeps Stent's tables beside the application's", async () => {
    const module = await boot();
    const dataSource = module.get(DataSource);
    const tables: Array<{ name: string }> =
      dialect === 'postgres'
        ? await dataSource.query(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1`, [db.schema])
        : await dataSource.query(`SELECT name FROM sqlite_master WHERE type = 'table'`);
    const names = tables.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['shop_orders', 'stent_executions', 'stent_steps', 'stent_migrations']));
  });
});
