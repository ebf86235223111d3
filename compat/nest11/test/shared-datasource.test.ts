import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Injectable, Module } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { Activity, StentExecutor, StentModule, Workflow } from 'nestjs-stent';
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { testApps } from './support.js';

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

describe("Stent on the application's TypeORM 0.3 'sqlite' DataSource (NestJS 11)", () => {
  const apps = testApps();

  async function boot(): Promise<TestingModule> {
    const file = apps.file();
    return apps.start([
      TypeOrmModule.forRoot({ type: 'sqlite', database: file, entities: [ShopOrder], synchronize: true, enableWAL: true }),
      StentModule.forRootAsync({
        inject: [getDataSourceToken()],
        useFactory: (dataSource: DataSource) => ({ dataSource, worker: { concurrency: 4, pollInterval: '20ms', maxPollInterval: '100ms' } }),
      }),
      ShopModule,
    ]);
  }

  it("creates the execution in the caller's transaction: committed with it, then run", async () => {
    const module = await boot();
    const executionId = await module.get(Checkout).place('o-commit', false);
    assert.equal(executionId, 'exec-o-commit');
    assert.equal(await module.get(DataSource).getRepository(ShopOrder).countBy({ id: 'o-commit' }), 1);
    const result = await module.get(StentExecutor).waitFor(executionId!, { timeout: '20s' });
    assert.equal(result.value, 'shipped o-commit');
  });

  it('and rolled back with it: neither the order nor the execution exists', async () => {
    const module = await boot();
    const executionId = await module.get(Checkout).place('o-rollback', true);
    assert.equal(await module.get(DataSource).getRepository(ShopOrder).countBy({ id: 'o-rollback' }), 0);
    await assert.rejects(module.get(StentExecutor).getExecution(executionId!), /No execution with id 'exec-o-rollback'/);
  });

  it("keeps Stent's tables beside the application's, and both keep working side by side", async () => {
    const module = await boot();
    const dataSource = module.get(DataSource);
    const stent = module.get(StentExecutor);
    // The application's transactions (a read, then a write) run while Stent's worker writes on the same
    // connection. One after another: TypeORM 0.3's sqlite driver has one query runner, which cannot hold
    // two transactions at once.
    const orders = (async () => {
      for (let i = 0; i < 20; i++) {
        await dataSource.transaction(async (manager) => {
          assert.equal(await manager.countBy(ShopOrder, { id: `bulk-${i}` }), 0);
          await manager.save(ShopOrder, { id: `bulk-${i}`, cents: i });
        });
      }
    })();
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => stent.dispatch(FulfilOrder, [`bulk-${i}`])));
    await orders;
    for (const id of ids) assert.equal((await stent.waitFor(id, { timeout: '20s' })).state, 'completed');
    const tables: Array<{ name: string }> = await dataSource.query(`SELECT name FROM sqlite_master WHERE type = 'table'`);
    const names = tables.map((table) => table.name);
    for (const name of ['shop_orders', 'stent_executions', 'stent_steps', 'stent_migrations']) assert.ok(names.includes(name), `${name} exists`);
    assert.equal(await dataSource.getRepository(ShopOrder).count(), 20);
  });
});
