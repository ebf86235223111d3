import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Inject, Injectable, Module, Scope, type DynamicModule, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Activity,
  ConfigurationError,
  createStentStore,
  DuplicateNameError,
  InjectStentOptions,
  Stent,
  StentExecutor,
  StentModule,
  WaitTimeoutError,
  Workflow,
  type StentModuleOptions,
  type WorkerOptions,
} from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type Dialect, type TestDatabase } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';

const FAST_WORKER: WorkerOptions = { concurrency: 4, pollInterval: '20ms', maxPollInterval: '200ms' };

// ---- a feature module with DI into activities and workflows ------------------------------------

@Injectable()
class GreetingService {
  calls = 0;
  greet(name: string): string {
    this.calls++;
    return `Hello, ${name}`;
  }
}

@Injectable()
class Punctuation {
  readonly mark = '!';
}

@Activity({ retry: { maxAttempts: 1 } })
class GreetActs {
  insideWorkflowFlags: boolean[] = [];
  constructor(private readonly greeter: GreetingService) {}

  async greet(name: string): Promise<string> {
    this.insideWorkflowFlags.push(Stent.inWorkflow());
    return this.greeter.greet(name);
  }

  @Activity({ name: 'greeting.shout' })
  async shout(text: string): Promise<string> {
    return text.toUpperCase();
  }
}

@Workflow()
class GreetFlow {
  constructor(
    private readonly acts: GreetActs,
    private readonly punctuation: Punctuation,
  ) {}

  async run(name: string): Promise<string> {
    const greeting = await this.acts.greet(name);
    return this.acts.shout(`${greeting}${this.punctuation.mark}`);
  }
}

/** An ordinary service that starts workflows through the injected executor. */
@Injectable()
class GreetingClient {
  constructor(private readonly stent: StentExecutor) {}
  async greetDurably(name: string): Promise<{ id: string; value: unknown }> {
    const id = await this.stent.dispatch(GreetFlow, [name]);
    const result = await this.stent.waitFor(id, { timeout: '30s' });
    return { id, value: result.unwrap() };
  }
}

@Module({ providers: [GreetingService, Punctuation, GreetActs, GreetFlow, GreetingClient], exports: [GreetingClient] })
class GreetingFeatureModule {}

// ---- in-flight work during shutdown ------------------------------------------------------------

const DRAIN_CONTROL = Symbol('DRAIN_CONTROL');

class DrainControl {
  holdStarted = 0;
  holdFinished = 0;
  afterRuns = 0;
  private release!: () => void;
  readonly released = new Promise<void>((resolve) => (this.release = resolve));
  open(): void {
    this.release();
  }
}

@Activity({ retry: { maxAttempts: 3, initialDelay: '20ms' } })
class DrainActs {
  constructor(@Inject(DRAIN_CONTROL) private readonly control: DrainControl) {}
  async hold(label: string): Promise<string> {
    this.control.holdStarted++;
    await this.control.released;
    this.control.holdFinished++;
    return `held ${label}`;
  }
  async after(previous: string): Promise<string> {
    this.control.afterRuns++;
    return `${previous}, then after`;
  }
}

@Workflow()
class DrainFlow {
  constructor(private readonly acts: DrainActs) {}
  async run(label: string): Promise<string> {
    const held = await this.acts.hold(label);
    return this.acts.after(held);
  }
}

@Module({})
class DrainFeatureModule {
  static register(control: DrainControl): DynamicModule {
    return { module: DrainFeatureModule, providers: [{ provide: DRAIN_CONTROL, useValue: control }, DrainActs, DrainFlow] };
  }
}

// ---- forRootAsync ------------------------------------------------------------------------------

const DB_SETTINGS = Symbol('DB_SETTINGS');

@Injectable()
class OptionsReader {
  constructor(@InjectStentOptions() readonly options: StentModuleOptions) {}
}

// ---- dispatch while the application starts ----------------------------------------------------

/** Dispatches in its own onModuleInit, before any application bootstrap hook has run. */
@Injectable()
class StartupGreeter {
  dispatched: string | undefined;
  constructor(private readonly stent: StentExecutor) {}
  async onModuleInit(): Promise<void> {
    this.dispatched = await this.stent.dispatch(GreetFlow, ['Startup']);
  }
}

// ---- helpers -----------------------------------------------------------------------------------

function appModule(imports: Array<Type | DynamicModule>, providers: Type[] = []): Type {
  @Module({ imports, providers })
  class AppModule {}
  return AppModule;
}

describe.each(DIALECTS)('StentModule on %s', (dialect: Dialect) => {
  let db: TestDatabase;
  const apps: INestApplicationContext[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];

  async function boot(imports: Array<Type | DynamicModule>, providers: Type[] = []): Promise<INestApplicationContext> {
    const app = await NestFactory.createApplicationContext(appModule(imports, providers), { logger: false, abortOnError: false });
    apps.push(app);
    return app;
  }

  beforeEach(async () => {
    db = await createTestDatabase(dialect);
  });

  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
    for (const app of apps.splice(0).reverse()) {
      try {
        await app.close();
      } catch {
        // closed by the test
      }
    }
    await db.dispose();
  });

  it('discovers workflows and activities in feature modules and injects their dependencies', async () => {
    const app = await boot([StentModule.forRoot({ database: db.options, worker: FAST_WORKER }), GreetingFeatureModule]);
    const executor = app.get(StentExecutor);
    expect(executor.registry.workflowNames()).toContain('GreetFlow');
    expect(executor.registry.activityNames()).toEqual(expect.arrayContaining(['GreetActs.greet', 'greeting.shout']));

    const { id, value } = await app.get(GreetingClient).greetDurably('Ada');
    expect(value).toBe('HELLO, ADA!');
    // the injected service did the work, inside a durable step
    const greeter = app.get(GreetingService);
    expect(greeter.calls).toBe(1);
    expect(app.get(GreetActs).insideWorkflowFlags).toEqual([false]);
    const journal = await executor.getJournal(id);
    expect(journal.map((s) => s.name)).toEqual(['GreetActs.greet', 'greeting.shout']);
    expect(journal[0]!.result).toBe('Hello, Ada');
  });

  it('forRootAsync builds the options with useFactory and inject', async () => {
    const factoryArgs: unknown[] = [];
    @Module({ providers: [{ provide: DB_SETTINGS, useValue: { database: db.options, concurrency: 3 } }], exports: [DB_SETTINGS] })
    class SettingsModule {}

    const app = await boot(
      [
        StentModule.forRootAsync({
          imports: [SettingsModule],
          inject: [DB_SETTINGS],
          useFactory: (settings: { database: TestDatabase['options']; concurrency: number }) => {
            factoryArgs.push(settings);
            return { database: settings.database, worker: { ...FAST_WORKER, concurrency: settings.concurrency } };
          },
        }),
        GreetingFeatureModule,
      ],
      [OptionsReader],
    );
    expect(factoryArgs).toHaveLength(1);
    expect(factoryArgs[0]).toMatchObject({ concurrency: 3 });
    expect(app.get(OptionsReader).options.database).toEqual(db.options);
    const executor = app.get(StentExecutor);
    expect(executor.worker?.settings.concurrency).toBe(3);
    const { value } = await app.get(GreetingClient).greetDurably('Grace');
    expect(value).toBe('HELLO, GRACE!');
  });

  it('a worker: false process dispatches but runs no work', async () => {
    const apiOnly = await boot([StentModule.forRoot({ database: db.options, worker: false }), GreetingFeatureModule]);
    const apiExecutor = apiOnly.get(StentExecutor);
    expect(apiExecutor.worker).toBeNull();
    expect(apiExecutor.readiness()).toBe('api-only');

    const id = await apiExecutor.dispatch(GreetFlow, ['Linus']);
    expect(await apiExecutor.waitFor(id, { timeout: '1s' }).catch((e: unknown) => e)).toBeInstanceOf(WaitTimeoutError);
    expect((await apiExecutor.getExecution(id)).state).toBe('pending');
    expect(apiOnly.get(GreetingService).calls).toBe(0);

    const workerApp = await boot([StentModule.forRoot({ database: db.options, worker: FAST_WORKER }), GreetingFeatureModule]);
    const result = await apiExecutor.waitFor(id, { timeout: '30s' });
    expect(result.value).toBe('HELLO, LINUS!');
    expect(workerApp.get(GreetingService).calls).toBe(1);
    expect(apiOnly.get(GreetingService).calls).toBe(0);
  });

  it('app.close() lets an in-flight activity finish and records its result', async () => {
    const control = new DrainControl();
    cleanups.push(() => control.open());
    const app = await boot([
      StentModule.forRoot({ database: db.options, worker: { ...FAST_WORKER, shutdownTimeout: '8s' } }),
      DrainFeatureModule.register(control),
    ]);
    const executor = app.get(StentExecutor);
    const id = await executor.dispatch(DrainFlow, ['parcel']);
    await waitUntil(() => control.holdStarted === 1, 'the activity to start');

    let closed = false;
    const closing = app.close().then(() => (closed = true));
    apps.splice(apps.indexOf(app), 1);
    await waitUntil(() => executor.readiness() === 'draining', 'the worker to start draining');
    expect(closed).toBe(false);
    expect(control.holdFinished).toBe(0);
    const releasedAt = Date.now();
    control.open();
    await closing;
    // Draining waits for the in-flight attempt, not for the whole shutdown timeout.
    expect.soft(Date.now() - releasedAt, "ms from the activity finishing to close() resolving").toBeLessThan(4_000);
    expect(control.holdFinished).toBe(1);

    // A fresh process looks at the database: the in-flight step was recorded as completed.
    const store = await createStentStore({ database: db.options });
    const inspector = new StentExecutor({ store, worker: { ...FAST_WORKER } });
    cleanups.push(() => inspector.close('2s'));
    inspector.register(new DrainActs(control), new DrainFlow(new DrainActs(control)));
    await inspector.migrate();
    const journal = await inspector.getJournal(id);
    expect(journal[0]).toMatchObject({ position: 0, name: 'DrainActs.hold', state: 'completed', result: 'held parcel', attempts: 1 });

    // ... and finishing the execution elsewhere does not run it again.
    await inspector.start();
    const result = await inspector.waitFor(id, { timeout: '10s' });
    expect(result.value).toBe('held parcel, then after');
    expect(control.holdStarted).toBe(1);
    expect(control.afterRuns).toBe(1);
  });

  it('a provider may dispatch in its onModuleInit on a fresh database; the worker runs it once the app is up', async () => {
    const app = await boot([StentModule.forRoot({ database: db.options, worker: FAST_WORKER }), GreetingFeatureModule], [StartupGreeter]);
    const id = app.get(StartupGreeter).dispatched;
    expect(id).toEqual(expect.any(String));
    const result = await app.get(StentExecutor).waitFor(id!, { timeout: '30s' });
    expect(result.value).toBe('HELLO, STARTUP!');
  });

  it('an activity method called outside a workflow is a plain call', async () => {
    const app = await boot([StentModule.forRoot({ database: db.options, worker: FAST_WORKER }), GreetingFeatureModule]);
    const acts = app.get(GreetActs);
    expect(await acts.greet('Barbara')).toBe('Hello, Barbara');
    expect(await acts.shout('quiet')).toBe('QUIET');
    expect(acts.insideWorkflowFlags).toEqual([false]);
    expect(app.get(GreetingService).calls).toBe(1);
    // calling a workflow's run() directly is a plain call too
    expect(await app.get(GreetFlow).run('Ken')).toBe('HELLO, KEN!');
    expect((await app.get(StentExecutor).listExecutions()).total).toBe(0);
  });
});

// ---- bootstrap refusals (the database plays no part; SQLite only) -------------------------------

@Injectable({ scope: Scope.REQUEST })
class RequestContext {
  readonly user = 'someone';
}

@Activity()
class RequestBoundActs {
  constructor(private readonly context: RequestContext) {}
  async whoAmI(): Promise<string> {
    return this.context.user;
  }
}

@Injectable({ scope: Scope.REQUEST })
@Workflow()
class RequestScopedFlow {
  async run(): Promise<string> {
    return 'never';
  }
}

@Workflow({ name: 'Checkout' })
class CheckoutFlowV1 {
  async run(): Promise<number> {
    return 1;
  }
}

@Workflow({ name: 'Checkout' })
class CheckoutFlowV2 {
  async run(): Promise<number> {
    return 2;
  }
}

@Activity({ name: 'Shipping' })
class ShippingA {
  async send(): Promise<string> {
    return 'a';
  }
}

@Activity({ name: 'Shipping' })
class ShippingB {
  async send(): Promise<string> {
    return 'b';
  }
}

describe('StentModule bootstrap refusals', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
  });

  afterEach(async () => {
    await db.dispose();
  });

  async function bootstrapError(providers: Type[], worker: WorkerOptions = FAST_WORKER): Promise<Error> {
    @Module({ providers })
    class FeatureModule {}
    try {
      const app = await NestFactory.createApplicationContext(appModule([StentModule.forRoot({ database: db.options, worker }), FeatureModule]), {
        logger: false,
        abortOnError: false,
      });
      await app.close();
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected the application to refuse to start');
  }

  it('refuses an activity class that depends on something request-scoped', async () => {
    const error = await bootstrapError([RequestContext, RequestBoundActs]);
    expect(error.message).toContain('RequestBoundActs');
    expect(error.message).toMatch(/request-scoped|transient/);
    expect(error.message).toMatch(/singleton/);
  });

  it('refuses a request-scoped workflow class', async () => {
    const error = await bootstrapError([RequestScopedFlow]);
    expect(error.message).toContain('RequestScopedFlow');
    expect(error.message).toMatch(/request-scoped/);
  });

  it('refuses two workflow classes claiming one durable name with DuplicateNameError', async () => {
    const error = await bootstrapError([CheckoutFlowV1, CheckoutFlowV2]);
    expect(error).toBeInstanceOf(DuplicateNameError);
    expect(error.message).toContain('Checkout');
  });

  // Every refusal here is checked to leave the database closed: the test database's dispose fails otherwise.
  it('refuses worker options it cannot use with a ConfigurationError', async () => {
    const error = await bootstrapError([], { ...FAST_WORKER, keepSuspended: -1 });
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('keepSuspended');
  });

  it('refuses two activity classes claiming one durable name with DuplicateNameError', async () => {
    const error = await bootstrapError([ShippingA, ShippingB]);
    expect(error).toBeInstanceOf(DuplicateNameError);
    expect(error.message).toContain('Shipping.send');
  });
});
