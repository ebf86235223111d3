import type { ExecutionState } from '../api/result.js';
import type { DeadLetterRecord, WorkerRecord } from './records.js';

/** What the admin queries take and give back (listings, details, backlogs, throughput, counts). Times are epoch ms (UTC). */
export interface ExecutionFilter {
  state?: ExecutionState | ExecutionState[];
  workflowName?: string;
  parentId?: string;
  queue?: string;
  tag?: string;
  /** Created at or after (inclusive), before (exclusive); epoch ms. */
  createdAfter?: number;
  createdBefore?: number;
  /** Last changed at or after (inclusive), before (exclusive); epoch ms. */
  updatedAfter?: number;
  updatedBefore?: number;
  /** Ids starting with this text (exact characters, no wildcards). */
  idPrefix?: string;
}

export interface Page {
  limit?: number;
  offset?: number;
}

/** Where a page of executions (newest first: created_at, then id, both descending) continues. */
export interface ExecutionPosition {
  createdAt: number;
  id: string;
}

/** A page of an execution listing: by offset, or after a position (keyset, stable under inserts). */
export interface ExecutionPage {
  limit: number;
  offset?: number;
  after?: ExecutionPosition;
}

/** An execution named with its workflow and state (a parent or a child in an execution's detail). */
export interface ExecutionSummaryRecord {
  id: string;
  workflowName: string;
  state: ExecutionState;
  createdAt: number;
  finishedAt: number | null;
}

/** What surrounds one execution: its parent, its children (the first of them), its journal's counts. */
export interface ExecutionRelativesRecord {
  parent: ExecutionSummaryRecord | null;
  children: ExecutionSummaryRecord[];
  childCount: number;
  childStates: Partial<Record<ExecutionState, number>>;
  steps: { total: number; attempts: number; failed: number; byKind: Record<string, number> };
}

export interface DeadLetterFilter {
  executionId?: string;
  /** The task's durable name (activity or workflow). */
  name?: string;
}

/** A dead letter with the execution it belongs to. */
export interface DeadLetterDetailRecord extends DeadLetterRecord {
  workflowName: string | null;
  executionState: ExecutionState | null;
}

/** Work waiting on one queue (activity steps and executions to start or resume). */
export interface QueueBacklogRecord {
  queue: string;
  dueActivities: number;
  scheduledActivities: number;
  runningActivities: number;
  dueExecutions: number;
  /** When the oldest due item on this queue became due. */
  oldestDueAt: number | null;
}

/** Due work of one name on one queue: activity steps to run, or executions of a workflow to start or resume. */
export interface DueWorkRecord {
  kind: 'workflow' | 'activity';
  queue: string;
  name: string;
  due: number;
  /** When the oldest of them became due. */
  oldestDueAt: number;
}

/** What finished in one minute (minute = epoch ms / 60000, floored). */
export interface ThroughputRecord {
  minute: number;
  stepsCompleted: number;
  stepsFailed: number;
  executions: Partial<Record<ExecutionState, number>>;
}

/** Counts across the whole database (every process), for dashboards and health checks. */
export interface StoreStats {
  executions: Record<ExecutionState, number>;
  /** Activity steps: due and waiting for a worker, scheduled for later (retry back-off), running now. */
  activities: { due: number; scheduled: number; running: number };
  deadLetters: number;
  /** When the oldest work that is due but not yet taken became due (activity steps and executions). */
  oldestDueAt: number | null;
  workers: WorkerRecord[];
}
