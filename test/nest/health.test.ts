import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Controller, Get, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Activity, StentExecutor, StentModule, Workflow, type StentModuleOptions } from 'nestjs-stent';
import { StentHealthIndicator, StentHealthModule, type StentHealthOptions } from 'nestjs-stent/health';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { clusterDatabase, PgCluster } from '../support/pg-cluster.js';
import { waitUntil } from '../support/wait.js';

@Activity({ retry: { maxAttempts: 1 } })
class HealthActs {
  async echo(value: string): Promise<string> {
    return value;
  }

  async fail(): Promise<string> {
    throw new Error('always fails');
  }
}

@Workflow()
class EchoFlow {
  constructor(private readonly acts: HealthActs) {}
  async run(value: string): Promise<string> {
    return this.acts.echo(value);
  }
}

@Workflow()
class FailingFlow {
  constructor(private readonly acts: HealthActs) {}
  async run(): Promise<string> {
    return this.acts.fail();
  }
}

/** A health endpoint as a user writes one: terminus' HealthCheckService over the Stent indicator. */
function healthController(options: StentHealthOptions): DynamicModule {
  @Controller('health')
  class HealthController {
    constructor(
      private readonly health: HealthCheckService,
      private readonly stent: StentHealthIndicator,
    ) {}

    @Get()
    @HealthCheck()
    check() {
      return this.health.check([() => this.stent.isHealthy('stent', options)]);
    }
  }
  @Module({ imports: [TerminusModule, StentHealthModule], controllers: [HealthController] })
  class HealthModule {}
  return { module: HealthModule };
}

async function startApp(stent: StentModuleOptions, health: StentHealthOptions = {}): Promise<{ app: INestApplication; url: string }> {
  @Module({ imports: [StentModule.forRoot(stent), healthController(health)], providers: [HealthActs, EchoFlow, FailingFlow] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  return { app, url: `${await app.getUrl()}/health` };
}

interface HealthBody {
  status: string;
  info?: Record<string, Record<string, unknown>>;
  error?: Record<string, Record<string, unknown>>;
  details: Record<string, Record<string, unknown>>;
}

async function probe(url: string): Promise<{ status: number; body: HealthBody }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as HealthBody };
}

const WORKER = { concurrency: 2, pollInterval: '50ms', maxPollInterval: '300ms', lease: '10s' };

describe('StentHealthIndicator over HTTP (terminus HealthCheckService), PostgreSQL in a cluster of the test\'s own', () => {
  let cluster: PgCluster;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    cluster = await PgCluster.create();
  });

  afterEach(async () => {
    if (!cluster.isRunning) await cluster.start();
    await app?.close();
    app = undefined;
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('up while the database answers; down with the reason while it is stopped; up again once it answers', async () => {
    const db = await clusterDatabase(cluster);
    const started = await startApp({ database: db.options, worker: WORKER, connectTimeout: '2s' }, { timeout: '1s' });
    app = started.app;

    const up = await probe(started.url);
    expect(up.status).toBe(200);
    expect(up.body.status).toBe('ok');
    expect(up.body.info?.stent).toMatchObject({ status: 'up', database: 'up', worker: 'ready', workerState: 'running' });

    await cluster.stop('fast');
    const down = await waitUntil(async () => {
      const result = await probe(started.url);
      return result.status === 503 ? result : undefined;
    }, 'health to report down', 20_000, 100);
    expect(down.body.status).toBe('error');
    expect(down.body.error?.stent).toMatchObject({ status: 'down', database: 'down' });
    expect(String(down.body.error?.stent?.reason)).toMatch(/database unreachable/);

    await cluster.start();
    const again = await waitUntil(async () => {
      const result = await probe(started.url);
      return result.status === 200 ? result : undefined;
    }, 'health to report up again', 30_000, 100);
    expect(again.body.info?.stent).toMatchObject({ status: 'up', database: 'up', worker: 'ready' });
    // And the worker works after the outage.
    const executor = app.get(StentExecutor);
    const id = await executor.dispatch(EchoFlow, ['after']);
    expect((await executor.waitFor(id, { timeout: '30s' })).value).toBe('after');
    await app.close();
    app = undefined;
    await db.dispose();
  });

  it('an application that never reached its database still shuts down promptly', async () => {
    const db = await clusterDatabase(cluster);
    await cluster.stop('fast');
    const started = await startApp({ database: db.options, worker: WORKER, connectTimeout: '30s' });
    expect((await probe(started.url)).status).toBe(503);
    const closing = Date.now();
    await started.app.close();
    expect(Date.now() - closing).toBeLessThan(5_000);
    await cluster.start();
    await db.dispose();
  });

  it('boots with the database down: the application starts, health is down with the reason, the worker starts once the database answers', async () => {
    const db = await clusterDatabase(cluster);
    await cluster.stop('fast');
    const bootStarted = Date.now();
    const started = await startApp({ database: db.options, worker: WORKER, connectTimeout: '60s' }, { timeout: '500ms' });
    app = started.app;
    // Boot did not wait for the database (operations would wait up to connectTimeout, 60 s).
    expect(Date.now() - bootStarted).toBeLessThan(20_000);

    const down = await probe(started.url);
    expect(down.status).toBe(503);
    expect(down.body.error?.stent).toMatchObject({ status: 'down', database: 'down', worker: 'starting', workerState: 'idle' });
    expect(String(down.body.error?.stent?.reason)).toMatch(/database unreachable/);
    const executor = app.get(StentExecutor);
    expect(executor.readinessDetail()).toMatchObject({ readiness: 'starting', ready: false });
    expect(executor.readinessDetail().reason).toMatch(/^the database is unreachable .*ECONNREFUSED/);

    await cluster.start();
    const up = await waitUntil(async () => {
      const result = await probe(started.url);
      return result.status === 200 ? result : undefined;
    }, 'health to report up once the database answers', 40_000, 100);
    expect(up.body.info?.stent).toMatchObject({ status: 'up', database: 'up', worker: 'ready', workerState: 'running' });
    // Migrated and working.
    const id = await executor.dispatch(EchoFlow, ['late start']);
    expect((await executor.waitFor(id, { timeout: '30s' })).value).toBe('late start');
    await app.close();
    app = undefined;
    await db.dispose();
  });
});

describe('StentHealthIndicator limits and worker states (SQLite)', () => {
  let db: TestDatabase;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  afterAll(async () => {
    await db.dispose();
  });

  it('down when the oldest due work waited longer than maxBacklogAge (api-only process, nothing runs it)', async () => {
    const started = await startApp({ database: db.options, worker: false }, { maxBacklogAge: '300ms' });
    app = started.app;
    const fresh = await probe(started.url);
    expect(fresh.status).toBe(200);
    expect(fresh.body.info?.stent).toMatchObject({ status: 'up', worker: 'api-only', backlogAgeMs: 0, maxBacklogAgeMs: 300 });

    await app.get(StentExecutor).dispatch(EchoFlow, ['waits']);
    const stale = await waitUntil(async () => {
      const result = await probe(started.url);
      return result.status === 503 ? result : undefined;
    }, 'the backlog to grow too old', 10_000, 50);
    expect(stale.body.error?.stent?.backlogAgeMs).toBeGreaterThan(300);
    expect(String(stale.body.error?.stent?.reason)).toMatch(/oldest due work has waited \d+ ms \(limit 300 ms\)/);
  });

  it('down once the worker drains and stops (a deploy), with its state', async () => {
    const file = await createTestDatabase('sqlite');
    try {
      const started = await startApp({ database: file.options, worker: WORKER });
      app = started.app;
      expect((await probe(started.url)).body.info?.stent).toMatchObject({ status: 'up', worker: 'ready', workerState: 'running' });
      await app.get(StentExecutor).drain();
      const down = await probe(started.url);
      expect(down.status).toBe(503);
      expect(down.body.error?.stent).toMatchObject({ status: 'down', database: 'up', worker: 'stopped', workerState: 'stopped' });
      expect(String(down.body.error?.stent?.reason)).toMatch(/worker stopped/);
    } finally {
      await app?.close();
      app = undefined;
      await file.dispose();
    }
  });

  it('down when more tasks than maxDeadLetters are dead-lettered', async () => {
    const file = await createTestDatabase('sqlite');
    try {
      const started = await startApp({ database: file.options, worker: WORKER }, { maxDeadLetters: 0 });
      app = started.app;
      expect((await probe(started.url)).body.info?.stent).toMatchObject({ status: 'up', deadLetters: 0, maxDeadLetters: 0 });
      const executor = app.get(StentExecutor);
      await executor.waitFor(await executor.dispatch(FailingFlow, []), { timeout: '30s' });
      const down = await probe(started.url);
      expect(down.status).toBe(503);
      expect(down.body.error?.stent).toMatchObject({ status: 'down', deadLetters: 1, maxDeadLetters: 0, worker: 'ready' });
      expect(String(down.body.error?.stent?.reason)).toMatch(/1 dead-lettered task\(s\) \(limit 0\)/);
    } finally {
      await app?.close();
      app = undefined;
      await file.dispose();
    }
  });
});
