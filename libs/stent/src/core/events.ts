import { EventEmitter } from 'node:events';
import type { ExecutionState, Result } from './api/result.js';

/** Lifecycle events, observable in-process for users' own hooks. */
export interface StentEventMap {
  /** `replay`: its journal is replayed; `resumed`: a run this worker suspended went on in memory, nothing replayed. */
  'execution.started': [{ executionId: string; workflowName: string; replay: boolean; resumed?: boolean }];
  /** `result` is what waitFor would hand back; present whenever someone listens. */
  'execution.finished': [{ executionId: string; workflowName: string; state: ExecutionState; result?: Result<unknown, unknown> }];
  'execution.suspended': [{ executionId: string; wakeAt: number | null }];
  'step.started': [{ executionId: string; position: number; name: string; attempt: number }];
  'step.completed': [{ executionId: string; position: number; name: string; attempt: number; durationMs: number }];
  'step.failed': [{ executionId: string; position: number; name: string; attempt: number; error: Error; willRetry: boolean }];
}

export class StentEvents extends EventEmitter<StentEventMap> {
  constructor() {
    super();
    this.setMaxListeners(0);
  }
}
