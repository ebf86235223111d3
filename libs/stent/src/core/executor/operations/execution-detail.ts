import { isFinalState, type ExecutionState } from '../../api/result.js';
import { decodeError } from '../../serialization.js';
import type { ExecutionRecord, ExecutionRelativesRecord, ExecutionSummaryRecord } from '../../store/index.js';
import { executionInfo, type ExecutionInfo } from '../execution-views.js';

/** Children listed in an execution's detail; childCount and childStates cover them all. */
export const DETAIL_CHILD_LIMIT = 200;

/** A parent or child execution, named with its workflow and state. */
export interface ExecutionSummary {
  id: string;
  workflowName: string;
  state: ExecutionState;
  createdAt: Date;
  finishedAt: Date | null;
}

/** Everything an operator needs about one execution (getExecution). */
export interface ExecutionDetail extends ExecutionInfo {
  /** The rebuilt error (class, message, code, stack) of a failed, cancelled or timed-out execution. */
  error: Error | null;
  /** What it returned, once completed (also in `result`). */
  output: unknown;
  parent: ExecutionSummary | null;
  /** Its child executions in call order (the first DETAIL_CHILD_LIMIT of them). */
  children: ExecutionSummary[];
  childCount: number;
  childStates: Partial<Record<ExecutionState, number>>;
  timings: {
    /** From dispatch to the first time a worker ran it. */
    queuedMs: number | null;
    /** From the first run to the end (or to now while it runs). */
    runMs: number | null;
    /** From dispatch to the end (or to now). */
    totalMs: number;
  };
  attempts: {
    /** Journal steps (activities, sleeps, signals, children, recorded values). */
    steps: number;
    stepsByKind: Record<string, number>;
    /** Attempts of all its steps together (retries included). */
    stepAttempts: number;
    /** Steps that failed for good. */
    failedSteps: number;
    /** Times its run was taken over from a worker that stopped answering. */
    recoveries: number;
  };
}

const summary = (record: ExecutionSummaryRecord): ExecutionSummary => ({
  id: record.id,
  workflowName: record.workflowName,
  state: record.state,
  createdAt: new Date(record.createdAt),
  finishedAt: record.finishedAt === null ? null : new Date(record.finishedAt),
});

export function executionDetail(record: ExecutionRecord, relatives: ExecutionRelativesRecord, now: number): ExecutionDetail {
  const info = executionInfo(record);
  const final = isFinalState(record.state);
  const end = final && record.finishedAt !== null ? record.finishedAt : now;
  return {
    ...info,
    error: final && record.state !== 'completed' ? (decodeError(record.error) ?? null) : null,
    output: info.result?.ok ? info.result.value : undefined,
    parent: relatives.parent ? summary(relatives.parent) : null,
    children: relatives.children.map(summary),
    childCount: relatives.childCount,
    childStates: relatives.childStates,
    timings: {
      queuedMs: record.startedAt === null ? null : Math.max(0, record.startedAt - record.createdAt),
      runMs: record.startedAt === null ? null : Math.max(0, end - record.startedAt),
      totalMs: Math.max(0, end - record.createdAt),
    },
    attempts: {
      steps: relatives.steps.total,
      stepsByKind: relatives.steps.byKind,
      stepAttempts: relatives.steps.attempts,
      failedSteps: relatives.steps.failed,
      recoveries: record.recoveries,
    },
  };
}
