import type * as Api from '@opentelemetry/api';

/** A span context as the execution row keeps it: the W3C traceparent and tracestate headers. */
interface StoredContext {
  traceparent: string;
  tracestate?: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The span context as JSON of W3C headers, written by hand rather than through the global propagator, so
 * the context is kept whichever propagators the application registered (or none).
 */
export function serializeContext(api: typeof Api, span: Api.Span): string | null {
  const context = span.spanContext();
  if (!api.isSpanContextValid(context)) return null;
  const stored: StoredContext = {
    traceparent: `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, '0')}`,
  };
  const state = context.traceState?.serialize();
  if (state) stored.tracestate = state;
  return JSON.stringify(stored);
}

/** The context a stored trace context continues, as a remote parent; ROOT_CONTEXT if none or unreadable. */
export function contextFrom(api: typeof Api, stored: string | null | undefined): Api.Context {
  if (!stored) return api.ROOT_CONTEXT;
  try {
    const parsed = JSON.parse(stored) as StoredContext;
    const match = TRACEPARENT.exec(parsed.traceparent ?? '');
    if (!match) return api.ROOT_CONTEXT;
    const spanContext: Api.SpanContext = {
      traceId: match[1]!,
      spanId: match[2]!,
      traceFlags: parseInt(match[3]!, 16),
      isRemote: true,
      traceState: parsed.tracestate ? api.createTraceState(parsed.tracestate) : undefined,
    };
    return api.isSpanContextValid(spanContext) ? api.trace.setSpanContext(api.ROOT_CONTEXT, spanContext) : api.ROOT_CONTEXT;
  } catch {
    return api.ROOT_CONTEXT;
  }
}
