import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createStentStore, openTelemetry, StentExecutor, type WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type Dialect, type TestDatabase } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { Shipping, TracedOrder } from '../fixtures/otel-flows.js';
import { spanRecord, type SpanRecord } from '../fixtures/otel-span-record.js';

const ACTIVITY_WORKER = fileURLToPath(new URL('../fixtures/otel-activity-worker.js', import.meta.url));
/** The workflow process: suspends a waiting run quickly so the sleep is followed by a replay. */
const WORKFLOW_WORKER: WorkerOptions = { concurrency: 2, pollInterval: '20ms', maxPollInterval: '100ms', lease: '10s', suspendAfter: '50ms', keepSuspended: 0 };

/** The activity process, and the spans it reports when told to stop. */
class ActivityProcess {
  private readonly child: ChildProcess;
  private buffer = '';
  private stderr = '';
  private readonly lines: Array<Record<string, unknown>> = [];

  constructor(url: string) {
    this.child = spawn(process.execPath, [ACTIVITY_WORKER], { env: { ...process.env, OTEL_WORKER_URL: url }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        if (line.startsWith('{')) this.lines.push(JSON.parse(line) as Record<string, unknown>);
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-5_000)));
  }

  ready(): Promise<unknown> {
    return waitUntil(() => this.lines.some((line) => line.ready) || (this.child.exitCode !== null && Promise.reject(new Error(this.stderr))), 'the activity process to start', 60_000);
  }

  async spans(): Promise<SpanRecord[]> {
    this.child.stdin!.write('stop\n');
    const line = await waitUntil(() => this.lines.find((entry) => entry.spans), `the activity process's spans (stderr: ${this.stderr})`, 30_000);
    return line.spans as SpanRecord[];
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

describe.each(DIALECTS)('OpenTelemetry across two processes on %s', (dialect: Dialect) => {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();
  let db: TestDatabase;
  let executor: StentExecutor | undefined;
  let worker: ActivityProcess | undefined;

  beforeAll(() => {
    context.setGlobalContextManager(contextManager.enable());
  });
  afterAll(() => {
    context.disable();
  });
  afterEach(async () => {
    worker?.kill();
    await executor?.close('1s');
    await db?.dispose();
    exporter.reset();
  });

  it('one trace follows the execution: dispatch here, the activity in the other process, every run (replays marked) and the signal, sent and received', async () => {
    db = await createTestDatabase(dialect);
    executor = new StentExecutor({
      store: await createStentStore({ database: db.options }),
      worker: WORKFLOW_WORKER,
      telemetry: await openTelemetry({ tracerProvider }),
    });
    // This process runs the workflow only: its Shipping is not registered, so the step goes to the other process.
    executor.register(() => new TracedOrder(new Shipping()));
    await executor.start();
    worker = new ActivityProcess(db.url);
    await worker.ready();

    const tracer = tracerProvider.getTracer('test');
    const { id, root } = await tracer.startActiveSpan('POST /orders', async (span) => {
      const dispatched = await executor!.dispatch(TracedOrder, ['o-1']);
      span.end();
      return { id: dispatched, root: span.spanContext() };
    });
    await waitUntil(async () => (await executor!.getJournal(id)).some((step) => step.kind === 'signal'), 'the workflow to wait for its signal');
    await executor.sendSignal(id, 'confirm', 'confirmed');
    const outcome = await executor.waitFor(id, { timeout: '30s' });
    expect(outcome.unwrap()).toBe('shipped o-1, confirmed');

    const remote = await worker.spans();
    const local = exporter.getFinishedSpans().map(spanRecord);
    const all = [...local, ...remote];
    // One trace, rooted at the request that dispatched.
    expect(new Set(all.map((span) => span.traceId))).toEqual(new Set([root.traceId]));

    const dispatch = local.find((span) => span.name === 'stent.dispatch TracedOrder')!;
    expect(dispatch).toMatchObject({ kind: SpanKind.PRODUCER, parentSpanId: root.spanId, attributes: { 'stent.workflow': 'TracedOrder', 'stent.execution_id': id, 'stent.created': true } });

    // The attempt ran in the other process, under the dispatch.
    const attempts = remote.filter((span) => span.name === 'stent.activity Shipping.ship');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.pid).not.toBe(process.pid);
    expect(attempts[0]).toMatchObject({
      kind: SpanKind.CONSUMER,
      parentSpanId: dispatch.spanId,
      attributes: { 'stent.execution_id': id, 'stent.step': 'Shipping.ship', 'stent.attempt': 1, 'stent.position': 0, 'stent.outcome': 'completed' },
    });

    // The activity body ran inside its attempt's span: its own span is a child of the attempt.
    const courier = remote.find((span) => span.name === 'courier call')!;
    expect(courier).toMatchObject({ traceId: root.traceId, parentSpanId: attempts[0]!.spanId });

    // Every run of the workflow is a span under the dispatch; after the suspension it replays, marked as such.
    const runs = local.filter((span) => span.name === 'stent.run TracedOrder');
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const run of runs) expect(run).toMatchObject({ parentSpanId: dispatch.spanId, attributes: { 'stent.execution_id': id } });
    expect(runs.filter((run) => run.attributes['stent.replay'] === false)).toHaveLength(1);
    expect(runs.filter((run) => run.attributes['stent.replay'] === true).length).toBeGreaterThanOrEqual(1);
    expect(runs.some((run) => run.attributes['stent.outcome'] === 'suspended')).toBe(true);
    expect(runs.filter((run) => run.attributes['stent.outcome'] === 'completed')).toHaveLength(1);

    // The signal was sent outside any span: it joins the execution's trace.
    const signal = local.find((span) => span.name === 'stent.signal confirm' && span.kind === SpanKind.PRODUCER)!;
    expect(signal).toMatchObject({ parentSpanId: dispatch.spanId, attributes: { 'stent.signal': 'confirm', 'stent.execution_id': id } });
    // Taken by the waiting workflow once (replays of the wait do not take it again), inside the run that took it.
    const received = local.filter((span) => span.name === 'stent.signal confirm' && span.kind === SpanKind.CONSUMER);
    expect(received).toHaveLength(1);
    expect(runs.map((run) => run.spanId)).toContain(received[0]!.parentSpanId);
    expect(received[0]).toMatchObject({ traceId: root.traceId, attributes: { 'stent.signal': 'confirm', 'stent.execution_id': id, 'stent.workflow': 'TracedOrder', 'messaging.operation.type': 'receive' } });

    // The trace context is kept with the execution, so any process (or a restart) continues it.
    const stored = (await executor.store.getExecution(id))!.traceContext!;
    expect(JSON.parse(stored).traceparent).toBe(`00-${root.traceId}-${dispatch.spanId}-01`);
  });

  it('a failed attempt is an error span with its outcome; a dispatch outside any trace starts one', async () => {
    db = await createTestDatabase(dialect);
    executor = new StentExecutor({
      store: await createStentStore({ database: db.options }),
      worker: WORKFLOW_WORKER,
      telemetry: await openTelemetry({ tracerProvider }),
    });
    const failing = new Shipping();
    failing.ship = async () => {
      throw new Error('no courier');
    };
    executor.register(failing, () => new TracedOrder(failing));
    await executor.start();
    const id = await executor.dispatch(TracedOrder, ['o-2']);
    const outcome = await executor.waitFor(id, { timeout: '30s' });
    expect(outcome.ok).toBe(false);
    await waitUntil(() => exporter.getFinishedSpans().some((span) => span.name === 'stent.run TracedOrder' && span.attributes['stent.outcome'] === 'failed'), 'the run span to end');
    const spans = exporter.getFinishedSpans().map(spanRecord);
    const dispatch = spans.find((span) => span.name === 'stent.dispatch TracedOrder')!;
    expect(dispatch.parentSpanId).toBeUndefined();
    const attempt = spans.find((span) => span.name === 'stent.activity Shipping.ship')!;
    expect(attempt).toMatchObject({ traceId: dispatch.traceId, parentSpanId: dispatch.spanId, status: SpanStatusCode.ERROR, attributes: { 'stent.outcome': 'failed', 'stent.will_retry': false } });
    const run = spans.find((span) => span.name === 'stent.run TracedOrder')!;
    expect(run).toMatchObject({ status: SpanStatusCode.ERROR, attributes: { 'stent.outcome': 'failed', 'stent.replay': false } });
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
