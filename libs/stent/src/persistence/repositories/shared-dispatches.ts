import type { NewExecution } from '../../core/index.js';

/** Most executions one statement inserts (each row is 18 parameters; PostgreSQL takes 65,535 a statement). */
const MOST_ROWS = 64;

interface QueuedDispatch {
  execution: NewExecution;
  resolve(created: boolean): void;
  reject(error: unknown): void;
}

/** Inserts executions; returns the ids it inserted (an idempotency key already taken inserts nothing). */
export type InsertRows = (executions: NewExecution[]) => Promise<Set<string>>;

/**
 * Plain dispatches of one process (not claimed at insert, outside a caller's transaction) requested while
 * one statement is on its way go together in the next one: one commit for many executions where each
 * would have waited for its own (PostgreSQL). A lone dispatch goes at once, alone. Each row keeps the
 * meaning it has alone: a row whose idempotency key is taken (by an older execution or by an earlier row
 * of the same statement) is not inserted and its caller reads the holder, as after a lone insert. A
 * statement the database refuses (an id already taken) fails none of the others: each row goes again on
 * its own, and only the one at fault gets the error.
 */
export class SharedDispatches {
  private queue: QueuedDispatch[] = [];
  private flushing = false;

  constructor(private readonly insertRows: InsertRows) {}

  /** Whether the execution went in (false: its idempotency key was already taken). */
  insert(execution: NewExecution): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ execution, resolve, reject });
      if (this.flushing) return;
      this.flushing = true;
      queueMicrotask(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MOST_ROWS);
        try {
          const inserted = await this.insertRows(batch.map((entry) => entry.execution));
          for (const entry of batch) entry.resolve(inserted.has(entry.execution.id));
        } catch (error) {
          if (batch.length === 1) {
            batch[0]!.reject(error);
            continue;
          }
          for (const entry of batch) {
            try {
              entry.resolve((await this.insertRows([entry.execution])).has(entry.execution.id));
            } catch (own) {
              entry.reject(own);
            }
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
