/** Where a cleanup pass stands: the (finished_at, id) of the last top-level execution it looked at. */
export interface CleanupPosition {
  finishedAt: number;
  id: string;
}

/** One batch of a cleanup: top-level executions in one of `states` that finished at or before `finishedBefore`. */
export interface CleanupBatchRequest {
  finishedBefore: number;
  states: string[];
  /** Top-level executions looked at in this batch. */
  limit: number;
  /** Continue after this one (null: from the oldest). */
  after: CleanupPosition | null;
  /** Count what would go, remove nothing. */
  dryRun: boolean;
}

/** Rows a batch removed (or, in a dry run, would remove). */
export interface CleanupCounts {
  executions: number;
  steps: number;
  signals: number;
  deadLetters: number;
}

export interface CleanupBatchResult extends CleanupCounts {
  /** Top-level executions looked at; fewer than the limit means the pass is over. */
  scanned: number;
  /** Trees left in place because an execution in them is not finished. */
  skipped: number;
  /** Where the next batch starts. */
  last: CleanupPosition | null;
}

/** Key rows retention removed (or, in a dry run, would remove). */
export interface SpentKeyCounts {
  /** Debounce and singleton rows whose execution ended, nothing queued behind them. */
  dispatchKeys: number;
  /** Flow-key rows (rate windows, parks) of activities and workflows that are over. */
  flowKeys: number;
}

/** Housekeeping: removing finished executions, expired cache rows and old worker rows; periodic jobs. */
export interface HygieneStore {
  /**
   * Removes, in one short transaction, the trees (an execution and all its descendants) of up to `limit`
   * matching top-level executions, each only when every execution in it is finished; a tree revived or
   * still running is left whole.
   */
  cleanupBatch(request: CleanupBatchRequest): Promise<CleanupBatchResult>;
  /** Removes up to `limit` cache rows expired at `now`; returns how many (counts them in a dry run). */
  removeExpiredCache(now: number, limit: number, dryRun: boolean): Promise<number>;
  /** Removes worker rows not heard from since `before` (stopped, or gone silent); returns how many. */
  removeSilentWorkers(before: number, dryRun: boolean): Promise<number>;
  /**
   * Removes up to about `limit` key rows that no longer refer to live work: debounce and singleton rows
   * whose execution ended (none queued behind), flow-key rows whose window and park ended well before `now`.
   */
  removeSpentKeys(now: number, limit: number, dryRun: boolean): Promise<SpentKeyCounts>;
  /**
   * Takes the period of maintenance job `name` that is due at `now`: true for exactly one caller per
   * period, which then runs the job; the job is next due at `nextRunAt`.
   */
  claimMaintenance(name: string, owner: string, now: number, nextRunAt: number): Promise<boolean>;
}
