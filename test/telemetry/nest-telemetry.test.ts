import 'reflect-metadata';
import { afterEach, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Test, type TestingModule } from '@nestjs/testing';
import { Activity, Stent, StentExecutor, Workflow } from 'nestjs-stent';
import { StentTestHarness, StentTestingModule } from 'nestjs-stent/testing';

@Activity()
class Mailer {
  async send(to: string): Promise<string> {
    return `sent to ${to}`;
  }
}

@Workflow()
class Welcome {
  constructor(private readonly mailer: Mailer) {}
  async run(to: string): Promise<string> {
    await Stent.sleep('1d');
    return this.mailer.send(to);
  }
}

@Workflow()
class Onboarding {
  constructor(private readonly welcome: Welcome) {}
  async run(to: string): Promise<string> {
    return this.welcome.run(to);
  }
}

describe('OpenTelemetry in a Nest app', () => {
  const exporter = new InMemorySpanExporter();
  let moduleRef: TestingModule | undefined;
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    exporter.reset();
    trace.disable();
  });

  async function run(telemetry?: false, workflow: typeof Welcome | typeof Onboarding = Welcome): Promise<string> {
    moduleRef = await Test.createTestingModule({ imports: [StentTestingModule.forRoot({ telemetry })], providers: [Mailer, Welcome, Onboarding] }).compile();
    await moduleRef.init();
    const executor = moduleRef.get(StentExecutor);
    const id = workflow === Welcome ? await executor.dispatch(Welcome, ['ann@example.com']) : await executor.dispatch(Onboarding, ['ann@example.com']);
    await moduleRef.get(StentTestHarness).runToCompletion(id);
    return id;
  }

  it("StentModule traces through the application's global tracer provider by default; replays after the sleep are marked", async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    const id = await run();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => span.name).sort()).toEqual(['stent.activity Mailer.send', 'stent.dispatch Welcome', 'stent.run Welcome', 'stent.run Welcome']);
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
    const runs = spans.filter((span) => span.name === 'stent.run Welcome');
    expect(runs.map((span) => [span.attributes['stent.replay'], span.attributes['stent.outcome']])).toEqual([
      [false, 'suspended'],
      [true, 'completed'],
    ]);
    expect(runs.every((span) => span.attributes['stent.execution_id'] === id)).toBe(true);
  });

  it("a child execution's runs and attempts join its parent's trace", async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    const id = await run(undefined, Onboarding);
    const spans = exporter.getFinishedSpans();
    const dispatch = spans.find((span) => span.name === 'stent.dispatch Onboarding')!;
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(new Set([dispatch.spanContext().traceId]));
    const childRuns = spans.filter((span) => span.name === 'stent.run Welcome');
    expect(childRuns.length).toBeGreaterThanOrEqual(1);
    for (const child of childRuns) {
      expect(child.attributes['stent.parent_execution_id']).toBe(id);
      expect(child.parentSpanContext?.spanId).toBe(dispatch.spanContext().spanId);
    }
    const attempt = spans.find((span) => span.name === 'stent.activity Mailer.send')!;
    expect(attempt.attributes['stent.execution_id']).toBe(childRuns[0]!.attributes['stent.execution_id']);
    expect(attempt.parentSpanContext?.spanId).toBe(dispatch.spanContext().spanId);
  });

  it('telemetry: false records nothing', async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    await run(false);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
