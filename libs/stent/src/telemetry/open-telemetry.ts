import type * as Api from '@opentelemetry/api';
import type { DispatchTrace, SignalTrace, StentEventMap, StentEvents, StentStore, StentTelemetry } from '../core/index.js';
import { ATTR } from './attributes.js';
import { StentMetrics } from './stent-metrics.js';
import { contextFrom, serializeContext } from './trace-context.js';

/**
 * Providers to use instead of the global ones (an `@opentelemetry/api` TracerProvider and MeterProvider;
 * typed loosely so that Stent's types do not require the package).
 */
export interface OpenTelemetryOptions {
  /** Default the global tracer provider (what the application's SDK registered). */
  tracerProvider?: { getTracer(name: string, version?: string): unknown };
  /** Default the global meter provider. */
  meterProvider?: { getMeter(name: string, version?: string): unknown };
}

/** Trace contexts of executions this process has seen, so an attempt need not read its execution. */
const REMEMBERED_CONTEXTS = 10_000;
const INSTRUMENTATION = 'nestjs-stent';

/**
 * Stent's OpenTelemetry instrumentation, through `@opentelemetry/api` alone (the application brings the
 * SDK). Undefined when `@opentelemetry/api` is not installed: it is an optional peer, loaded only here.
 */
export async function openTelemetry(options: OpenTelemetryOptions = {}): Promise<StentTelemetry | undefined> {
  let api: typeof Api;
  try {
    api = await import('@opentelemetry/api');
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' || (error as { code?: string }).code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
  return new OpenTelemetryInstrumentation(api, options);
}

/**
 * Spans: `stent.dispatch <workflow>` (producer) in the caller's context, its context kept with the
 * execution; `stent.run <workflow>` for every run of it in any process, a child of that context, replays
 * marked `stent.replay`; `stent.activity <name>` (consumer) for every attempt, with its attempt number
 * and outcome; `stent.signal <name>` for a signal sent (producer) and taken by the waiting run (consumer,
 * a child of that run's span). Child executions keep their parent's context, so one
 * trace follows an execution tree across processes and restarts.
 */
class OpenTelemetryInstrumentation implements StentTelemetry {
  private readonly tracer: Api.Tracer;
  private readonly meter: Api.Meter;
  private store: StentStore | undefined;
  private metrics: StentMetrics | undefined;
  private readonly off: Array<() => void> = [];
  /** Spans of runs held in this process. */
  private readonly runs = new Map<string, Api.Span>();
  /** Spans of attempts running in this process (made once their execution's context is known). */
  private readonly attempts = new Map<string, Promise<Api.Span>>();
  private readonly contexts = new Map<string, string | null | Promise<string | null>>();

  constructor(
    private readonly api: typeof Api,
    options: OpenTelemetryOptions,
  ) {
    this.tracer = ((options.tracerProvider as Api.TracerProvider | undefined) ?? api.trace.getTracerProvider()).getTracer(INSTRUMENTATION);
    this.meter = ((options.meterProvider as Api.MeterProvider | undefined) ?? api.metrics.getMeterProvider()).getMeter(INSTRUMENTATION);
  }

  attach({ events, store, now }: { events: StentEvents; store: StentStore; now(): number }): void {
    this.store = store;
    this.metrics = new StentMetrics(this.meter, events, store, now);
    this.on(events, 'execution.started', (event) => this.runStarted(event));
    this.on(events, 'execution.suspended', ({ executionId }) => this.runEnded(executionId, 'suspended'));
    this.on(events, 'execution.finished', ({ executionId, state }) => this.runEnded(executionId, state));
    this.on(events, 'step.started', (event) => this.attemptStarted(event));
    this.on(events, 'signal.received', (event) => this.signalReceived(event));
    this.on(events, 'step.completed', ({ stepId }) => this.attemptEnded(stepId, (span) => span.setAttribute(ATTR.outcome, 'completed')));
    this.on(events, 'step.failed', ({ stepId, error, willRetry }) =>
      this.attemptEnded(stepId, (span) => {
        span.setAttribute(ATTR.outcome, willRetry ? 'retry' : 'failed');
        span.setAttribute(ATTR.willRetry, willRetry);
        span.recordException(error);
        span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: error.message });
      }),
    );
  }

  dispatch(info: { workflowName: string; executionId: string; queue: string; delayMs: number; parentId: string | null }): DispatchTrace {
    const { api } = this;
    const span = this.tracer.startSpan(
      `stent.dispatch ${info.workflowName}`,
      {
        kind: api.SpanKind.PRODUCER,
        attributes: {
          [ATTR.workflow]: info.workflowName,
          [ATTR.executionId]: info.executionId,
          [ATTR.queue]: info.queue,
          [ATTR.delayMs]: info.delayMs,
          [ATTR.messagingSystem]: 'stent',
          [ATTR.messagingOperation]: 'send',
        },
      },
      api.context.active(),
    );
    const traceContext = serializeContext(api, span);
    return {
      traceContext,
      end: ({ error, executionId, created }) => {
        if (error !== undefined) this.fail(span, error);
        if (executionId !== undefined) {
          // An idempotent dispatch that found an existing execution hands back its id, not the new one.
          span.setAttribute(ATTR.executionId, executionId);
          if (created) this.remember(executionId, traceContext);
        }
        if (created !== undefined) span.setAttribute(ATTR.created, created);
        span.end();
      },
    };
  }

  async signal(info: { executionId: string; name: string }): Promise<SignalTrace> {
    const { api } = this;
    // Sent from traced code, the signal belongs to the sender's trace; otherwise to the execution's.
    const active = api.context.active();
    const parent = api.trace.getSpan(active) ? active : contextFrom(api, await this.contextOf(info.executionId));
    const span = this.tracer.startSpan(
      `stent.signal ${info.name}`,
      {
        kind: api.SpanKind.PRODUCER,
        attributes: { [ATTR.executionId]: info.executionId, [ATTR.signal]: info.name, [ATTR.messagingSystem]: 'stent', [ATTR.messagingOperation]: 'send' },
      },
      parent,
    );
    return {
      end: (error) => {
        if (error !== undefined) this.fail(span, error);
        span.end();
      },
    };
  }

  runAttempt(stepId: string, body: () => Promise<unknown>): Promise<unknown> {
    const span = this.attempts.get(stepId);
    if (!span) return body();
    const { api } = this;
    return span.then((made) => api.context.with(api.trace.setSpan(api.context.active(), made), body));
  }

  detach(): void {
    for (const off of this.off.splice(0)) off();
    this.metrics?.detach();
    for (const executionId of [...this.runs.keys()]) this.runEnded(executionId, 'released');
  }

  // ---- runs and attempts -----------------------------------------------------------------------

  private runStarted({ executionId, workflowName, replay, traceContext, parentId }: StentEventMap['execution.started'][0]): void {
    // A run started again here (claimed again after being dropped) ends the one before.
    this.runEnded(executionId, 'released');
    this.remember(executionId, traceContext);
    const attributes: Api.Attributes = { [ATTR.executionId]: executionId, [ATTR.workflow]: workflowName, [ATTR.replay]: replay };
    if (parentId) attributes[ATTR.parentExecutionId] = parentId;
    const span = this.tracer.startSpan(`stent.run ${workflowName}`, { kind: this.api.SpanKind.INTERNAL, attributes }, contextFrom(this.api, traceContext));
    this.runs.set(executionId, span);
  }

  private runEnded(executionId: string, outcome: string): void {
    const span = this.runs.get(executionId);
    if (!span) return;
    this.runs.delete(executionId);
    span.setAttribute(ATTR.outcome, outcome);
    if (outcome === 'failed' || outcome === 'timed_out') span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: outcome });
    span.end();
  }

  private signalReceived({ executionId, workflowName, name, position }: StentEventMap['signal.received'][0]): void {
    const { api } = this;
    const run = this.runs.get(executionId);
    const span = this.tracer.startSpan(
      `stent.signal ${name}`,
      {
        kind: api.SpanKind.CONSUMER,
        attributes: {
          [ATTR.executionId]: executionId,
          [ATTR.workflow]: workflowName,
          [ATTR.signal]: name,
          [ATTR.position]: position,
          [ATTR.messagingSystem]: 'stent',
          [ATTR.messagingOperation]: 'receive',
        },
      },
      run ? api.trace.setSpan(api.context.active(), run) : api.context.active(),
    );
    span.end();
  }

  private attemptStarted({ executionId, stepId, position, name, attempt }: StentEventMap['step.started'][0]): void {
    const startTime = new Date();
    const parent = this.contextOf(executionId);
    const make = (traceContext: string | null): Api.Span =>
      this.tracer.startSpan(
        `stent.activity ${name}`,
        {
          kind: this.api.SpanKind.CONSUMER,
          startTime,
          attributes: {
            [ATTR.executionId]: executionId,
            [ATTR.step]: name,
            [ATTR.stepId]: stepId,
            [ATTR.position]: position,
            [ATTR.attempt]: attempt,
            [ATTR.messagingSystem]: 'stent',
            [ATTR.messagingOperation]: 'process',
          },
        },
        contextFrom(this.api, traceContext),
      );
    this.attempts.set(stepId, parent instanceof Promise ? parent.then(make) : Promise.resolve(make(parent)));
  }

  private attemptEnded(stepId: string, describe: (span: Api.Span) => void): void {
    const span = this.attempts.get(stepId);
    if (!span) return;
    this.attempts.delete(stepId);
    const endTime = new Date();
    void span.then((made) => {
      describe(made);
      made.end(endTime);
    });
  }

  // ---- trace contexts of executions ------------------------------------------------------------

  /** The execution's stored trace context: remembered, or read from the database once. */
  private contextOf(executionId: string): string | null | Promise<string | null> {
    const known = this.contexts.get(executionId);
    if (known !== undefined) return known;
    const read = (this.store?.getExecution(executionId) ?? Promise.resolve(null)).then(
      (record) => {
        const traceContext = record?.traceContext ?? null;
        this.remember(executionId, traceContext);
        return traceContext;
      },
      () => {
        this.contexts.delete(executionId);
        return null;
      },
    );
    this.contexts.set(executionId, read);
    return read;
  }

  private remember(executionId: string, traceContext: string | null): void {
    this.contexts.delete(executionId);
    this.contexts.set(executionId, traceContext);
    if (this.contexts.size > REMEMBERED_CONTEXTS) this.contexts.delete(this.contexts.keys().next().value!);
  }

  private fail(span: Api.Span, error: unknown): void {
    if (error instanceof Error) span.recordException(error);
    span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }

  private on<E extends keyof StentEventMap>(events: StentEvents, event: E, listener: (...args: StentEventMap[E]) => void): void {
    events.on(event, listener as never);
    this.off.push(() => events.off(event, listener as never));
  }
}
