import type { StentEvents } from './events.js';
import type { StentStore } from './store/index.js';

/** A dispatch being traced: the trace context to keep with the execution, and the end of its span. */
export interface DispatchTrace {
  /** Serialized W3C trace context the execution's runs and steps continue, or null when not traced. */
  readonly traceContext: string | null;
  end(outcome: { error?: unknown; executionId?: string; created?: boolean }): void;
}

/** A signal being sent, traced. */
export interface SignalTrace {
  end(error?: unknown): void;
}

/**
 * Tracing and metrics (nestjs-stent's OpenTelemetry adapter implements it; see openTelemetry()). Runs
 * and steps are observed through the executor's events; dispatch and signals, which no event covers,
 * ask here.
 */
export interface StentTelemetry {
  /** Starts observing an executor: its events, and its store for backlog gauges and trace contexts. */
  attach(target: { events: StentEvents; store: StentStore; now(): number }): void;
  dispatch(info: { workflowName: string; executionId: string; queue: string; delayMs: number; parentId: string | null }): DispatchTrace;
  signal(info: { executionId: string; name: string }): Promise<SignalTrace>;
  /**
   * Runs an activity attempt's body (already announced by step.started) inside its span, so the body's
   * own spans (HTTP calls, queries) are children of the attempt.
   */
  runAttempt(stepId: string, body: () => Promise<unknown>): Promise<unknown>;
  /** Ends what is still open (spans of runs this process held) and stops observing. */
  detach(): void;
}
