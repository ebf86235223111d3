import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Activity, Stent, StentExecutor, StentModule, Workflow, type WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type Dialect, type TestDatabase } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';

// Short suspension: a workflow waiting for its signal is dropped from memory and replayed on resume.
const WORKER: WorkerOptions = { concurrency: 4, pollInterval: '20ms', maxPollInterval: '200ms', suspendAfter: '200ms' };
const SETTINGS = Symbol('SETTINGS');

@Injectable()
class Clerk {
  readonly id = randomUUID();
}

@Activity({ retry: { maxAttempts: 1 } })
class Payments {
  async charge(orderId: string, cents: number): Promise<string> {
    return `real charge ${orderId} ${cents}`;
  }
}

@Activity({ retry: { maxAttempts: 1 } })
class Shipping {
  constructor(readonly carrier: string) {}
  async ship(orderId: string): Promise<string> {
    return `${this.carrier} ships ${orderId}`;
  }
}

@Activity()
class Labels {
  async label(orderId: string): Promise<string> {
    return `label ${orderId}`;
  }
}

/** Per-execution state of every kind next to injected dependencies of every kind. */
@Workflow()
class Order implements OnModuleInit {
  private customer = '';
  private readonly notes: string[] = [];
  @Inject(SETTINGS) private readonly settings!: { currency: string };
  private startedBy = '';

  constructor(
    private readonly payments: Payments,
    private readonly shipping: Shipping,
    @Inject('LABELS') private readonly labels: Labels,
    private readonly clerk: Clerk,
  ) {}

  onModuleInit(): void {
    this.startedBy = 'module init';
  }

  async run(orderId: string, customer: string): Promise<Record<string, unknown>> {
    this.customer = customer;
    this.notes.push(await this.payments.charge(orderId, 100));
    await Stent.waitForSignal('ship');
    this.notes.push(await this.shipping.ship(orderId));
    this.notes.push(await this.labels.label(orderId));
    return { customer: this.customer, notes: this.notes, currency: this.settings.currency, clerk: this.clerk.id, startedBy: this.startedBy };
  }
}

/** Put in Order's place with overrideProvider(Order).useClass(...): not decorated, not a subclass. */
@Injectable()
class OrderStandIn {
  constructor(private readonly payments: Payments) {}
  async run(orderId: string): Promise<Record<string, unknown>> {
    return { standIn: await this.payments.charge(orderId, 1) };
  }
}

describe.each(DIALECTS)('Nest providers on %s', (dialect: Dialect) => {
  let db: TestDatabase;
  let module: TestingModule | undefined;

  beforeEach(async () => {
    db = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    await module?.close();
    module = undefined;
    await db.dispose();
  });

  function builder() {
    return Test.createTestingModule({
      imports: [StentModule.forRoot({ database: db.options, worker: WORKER })],
      providers: [
        Clerk,
        Payments,
        { provide: Shipping, useFactory: (clerk: Clerk) => new Shipping(`carrier of ${clerk.id.slice(0, 4)}`), inject: [Clerk] },
        { provide: 'LABELS', useValue: new Labels() },
        { provide: SETTINGS, useValue: { currency: 'EUR' } },
        Order,
      ],
    });
  }

  async function start(testing: TestingModule): Promise<StentExecutor> {
    module = testing;
    await module.init();
    return module.get(StentExecutor);
  }

  async function suspended(executor: StentExecutor, id: string): Promise<void> {
    await waitUntil(async () => (await executor.getExecution(id)).leaseOwner === null && (await executor.getJournal(id)).some((s) => s.kind === 'signal'), `${id} to suspend`);
  }

  it('useFactory and useValue providers are registered; each execution runs on its own workflow object built with the application singletons', async () => {
    const executor = await start(await builder().compile());
    expect(executor.registry.activityNames()).toEqual(expect.arrayContaining(['Payments.charge', 'Shipping.ship', 'Labels.label']));
    const ids = [await executor.dispatch(Order, ['o-1', 'Ada']), await executor.dispatch(Order, ['o-2', 'Bob'])];
    for (const id of ids) await suspended(executor, id);
    for (const id of [...ids].reverse()) await executor.sendSignal(id, 'ship', null);
    const [ada, bob] = await Promise.all(ids.map(async (id) => (await executor.waitFor(id, { timeout: '20s' })).unwrap()));
    const clerk = module!.get(Clerk).id;
    const carrier = `carrier of ${clerk.slice(0, 4)}`;
    expect(ada).toEqual({ customer: 'Ada', notes: ['real charge o-1 100', `${carrier} ships o-1`, 'label o-1'], currency: 'EUR', clerk, startedBy: 'module init' });
    expect(bob).toEqual({ customer: 'Bob', notes: ['real charge o-2 100', `${carrier} ships o-2`, 'label o-2'], currency: 'EUR', clerk, startedBy: 'module init' });
    // The provider itself is left as the application made it.
    expect((module!.get(Order) as unknown as { customer: string; notes: string[] })).toMatchObject({ customer: '', notes: [] });
  });

  it('overrideProvider(...).useValue(fake): calls stay durable and the fake is what runs, once', async () => {
    const fake = { charge: vi.fn(async (orderId: string, cents: number) => `fake charge ${orderId} ${cents}`) };
    const executor = await start(await builder().overrideProvider(Payments).useValue(fake).compile());
    const id = await executor.dispatch(Order, ['o-3', 'Cy']);
    await suspended(executor, id);
    await executor.sendSignal(id, 'ship', null);
    const result = (await executor.waitFor<{ notes: string[] }>(id, { timeout: '20s' })).unwrap();
    expect(result.notes[0]).toBe('fake charge o-3 100');
    // Recorded as a step and answered from the journal on replay: the fake ran once.
    const journal = await executor.getJournal(id);
    expect(journal[0]).toMatchObject({ name: 'Payments.charge', state: 'completed', result: 'fake charge o-3 100' });
    expect(fake.charge).toHaveBeenCalledTimes(1);
    expect(fake.charge).toHaveBeenCalledWith('o-3', 100);
    // Outside a workflow it is the fake's plain call.
    expect(await fake.charge('direct', 1)).toBe('fake charge direct 1');
    expect(fake.charge).toHaveBeenCalledTimes(2);
  });

  it('overrideProvider(Workflow).useClass(StandIn): dispatch runs the stand-in, its calls durable', async () => {
    const executor = await start(await builder().overrideProvider(Order).useClass(OrderStandIn).compile());
    const id = await executor.dispatch(Order, ['o-4', 'Di']);
    expect((await executor.waitFor(id, { timeout: '20s' })).unwrap()).toEqual({ standIn: 'real charge o-4 1' });
    expect((await executor.getJournal(id)).map((step) => step.name)).toEqual(['Payments.charge']);
  });
});
