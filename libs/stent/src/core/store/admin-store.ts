import type {
  DueWorkRecord,
  DeadLetterDetailRecord,
  DeadLetterFilter,
  ExecutionFilter,
  ExecutionPage,
  ExecutionRelativesRecord,
  Page,
  QueueBacklogRecord,
  StoreStats,
  ThroughputRecord,
} from './admin-records.js';
import type { DeadLetterRecord, ExecutionRecord, StepRecord, WorkerRecord } from './records.js';

/** Read-only questions for people and dashboards (lists, journals, counts); none is on the hot path. */
export interface AdminStore {
  /** Newest first (created_at, then id, descending); `total` counts every match of the filter. */
  listExecutions(filter: ExecutionFilter, page: ExecutionPage): Promise<{ items: ExecutionRecord[]; total: number }>;
  /** Parent, children (the first `childLimit`, in the order they were called) and journal counts of one execution. */
  executionRelatives(execution: ExecutionRecord, childLimit: number): Promise<ExecutionRelativesRecord>;
  loadJournal(executionId: string): Promise<StepRecord[]>;
  /** Newest first. */
  listDeadLetters(filter: DeadLetterFilter, page: Page): Promise<{ items: DeadLetterRecord[]; total: number }>;
  getDeadLetter(id: string): Promise<DeadLetterDetailRecord | null>;
  /** Workers heard from at or after `since` (live ones, and those stopped or lost since then). */
  listWorkers(since: number): Promise<WorkerRecord[]>;
  stats(now: number): Promise<StoreStats>;
  /** Per queue: what is due now, scheduled, running, and since when the oldest due item waits. */
  queueBacklog(now: number): Promise<QueueBacklogRecord[]>;
  /** What finished at or after `since`, per minute. */
  throughput(since: number): Promise<ThroughputRecord[]>;
  /** Work due now and not taken, by kind, queue and name. */
  dueWork(now: number): Promise<DueWorkRecord[]>;
}
