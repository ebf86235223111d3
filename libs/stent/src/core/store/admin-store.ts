import type { DeadLetterRecord, ExecutionFilter, ExecutionRecord, Page, StepRecord, StoreStats } from './records.js';

/** Read-only questions for people and dashboards (lists, journals, counts); none is on the hot path. */
export interface AdminStore {
  listExecutions(filter: ExecutionFilter, page: Page): Promise<{ items: ExecutionRecord[]; total: number }>;
  loadJournal(executionId: string): Promise<StepRecord[]>;
  listDeadLetters(page: Page): Promise<{ items: DeadLetterRecord[]; total: number }>;
  stats(now: number): Promise<StoreStats>;
}
