// The README's "OpenTelemetry" example, as written: the SDK setup it shows makes StentModule trace and measure.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { metrics, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ConsoleSpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Activity, StentExecutor, StentModule, Workflow } from 'nestjs-stent';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { importReadmeExample } from '../support/readme-example.js';
import { waitUntil } from '../support/wait.js';

@Activity()
class GreetActivities {
  async greet(name: string): Promise<string> {
    return `hello ${name}`;
  }
}

@Workflow()
class GreetWorkflow {
  constructor(private readonly acts: GreetActivities) {}
  async run(name: string): Promise<string> {
    return this.acts.greet(name);
  }
}

describe('the README OpenTelemetry example, as written', () => {
  let app: INestApplicationContext | undefined;
  let db: TestDatabase | undefined;
  const cleanups: Array<() => void> = [];
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
    await (metrics.getMeterProvider() as MeterProvider).shutdown?.();
    // The example's providers are process-wide: later test files in this worker start without them.
    trace.disable();
    metrics.disable();
    vi.restoreAllMocks();
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('registers global providers that StentModule uses for its spans', async () => {
    const exported: string[] = [];
    // What the console exporter would print, kept instead.
    vi.spyOn(ConsoleSpanExporter.prototype, 'export').mockImplementation((spans: ReadableSpan[], done) => {
      exported.push(...spans.map((s) => s.name));
      done({ code: ExportResultCode.SUCCESS });
    });
    const { cleanup } = await importReadmeExample('OpenTelemetry');
    cleanups.push(cleanup);
    expect(metrics.getMeterProvider()).toBeInstanceOf(MeterProvider);

    db = await createTestDatabase('sqlite');
    @Module({ imports: [StentModule.forRoot({ database: db.options })], providers: [GreetActivities, GreetWorkflow] })
    class AppModule {}
    app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const executor = app.get(StentExecutor);
    const id = await executor.dispatch(GreetWorkflow, ['otel']);
    expect((await executor.waitFor(id, { timeout: '20s' })).unwrap()).toBe('hello otel');
    await waitUntil(() => exported.includes('stent.run GreetWorkflow'), 'the run span is exported');
    expect(exported).toEqual(expect.arrayContaining(['stent.dispatch GreetWorkflow', 'stent.activity GreetActivities.greet', 'stent.run GreetWorkflow']));
  });
});
