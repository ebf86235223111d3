import { EventEmitter } from 'node:events';
import type { ExecutionState, Result } from './api/result.js';

/** Lifecycle events, observable in-process for users' own hooks. */
export interface StentEventMap {
  /** `traceContext`: what the execution was dispatched in (see StentTelemetry); `parentId` for a child execution;
   * `resumed`: a run this worker suspended went on in memory, nothing replayed. */
  'execution.started': [{ executionId: string; workflowName: string; replay: boolean; traceContext: string | null; parentId: string | null; resumed?: boolean }];
  /** `result` is what waitFor would hand back; present whenever someone listens. */
  'execution.finished': [{ executionId: string; workflowName: string; state: ExecutionState; result?: Result<unknown, unknown> }];
  'execution.suspended': [{ executionId: string; wakeAt: number | null }];
  'step.started': [{ executionId: string; stepId: string; position: number; name: string; attempt: number }];
  'step.completed': [{ executionId: string; stepId: string; position: number; name: string; attempt: number; durationMs: number }];
  'step.failed': [{ executionId: string; stepId: string; position: number; name: string; attempt: number; error: Error; willRetry: boolean }];
  /** After step.failed with willRetry: the next attempt waits until `retryAt` (epoch ms on the engine's clock). */
  'step.retried': [{ executionId: string; stepId: string; position: number; name: string; attempt: number; error: Error; retryAt: number }];
  /** After step.failed without a retry: the step failed for good and goes to the dead-letter queue. */
  'step.dead_lettered': [{ executionId: string; stepId: string; position: number; name: string; attempt: number; error: Error; reason: string }];
  /** A waiting workflow took a signal sent to it (once, when it is recorded; replays of the wait do not emit it). */
  'signal.received': [{ executionId: string; workflowName: string; name: string; position: number }];
  /** An execution failed for good in a way only the dead-letter queue can revive (non-determinism), before execution.finished. */
  'execution.dead_lettered': [{ executionId: string; workflowName: string; reason: string; error: Error }];
}

/** The name of a lifecycle event (see StentEventMap). */
export type StentEventName = keyof StentEventMap;

/** Every lifecycle event, in no particular order. */
export const STENT_EVENT_NAMES: readonly StentEventName[] = [
  'execution.started',
  'execution.finished',
  'execution.suspended',
  'execution.dead_lettered',
  'step.started',
  'step.completed',
  'step.failed',
  'step.retried',
  'step.dead_lettered',
  'signal.received',
];

export class StentEvents extends EventEmitter<StentEventMap> {
  constructor() {
    super();
    this.setMaxListeners(0);
  }
}
