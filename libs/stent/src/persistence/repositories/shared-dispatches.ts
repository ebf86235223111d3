import type { NewExecution } from '../../core/index.js';
import { StatementQueue } from './statement-queue.js';

/** Most executions one statement inserts (each row is 18 parameters; PostgreSQL takes 65,535 a statement). */
const MOST_ROWS = 64;

interface QueuedDispatch {
  execution: NewExecution;
  resolve(inserted: { created: boolean; announced: boolean }): void;
  reject(error: unknown): void;
}

/**
 * Inserts executions; returns the ids it inserted (an idempotency key already taken inserts nothing) and
 * whether its statement announced them as work to other processes.
 */
export type InsertRows = (executions: NewExecution[]) => Promise<{ inserted: Set<string>; announced: boolean }>;

/**
 * Plain dispatches of one process (not claimed at insert, outside a caller's transaction) requested while
 * one statement is on its way go together in the next one: one commit for many executions where each
 * would have waited for its own (PostgreSQL). Each row keeps the meaning it has alone: a row whose
 * idempotency key is taken (by an older execution or by an earlier row of the same statement) is not
 * inserted and its caller reads the holder, as after a lone insert; an id already taken fails only its
 * own dispatch (see StatementQueue).
 */
export class SharedDispatches {
  private readonly queue: StatementQueue<QueuedDispatch, { inserted: Set<string>; announced: boolean }>;

  constructor(insertRows: InsertRows) {
    this.queue = new StatementQueue({
      next: (queue) => queue.splice(0, MOST_ROWS),
      write: (batch) => insertRows(batch.map((entry) => entry.execution)),
      settle: (batch, { inserted, announced }) => {
        for (const entry of batch) entry.resolve({ created: inserted.has(entry.execution.id), announced });
      },
    });
  }

  /** Whether the execution went in (false: its idempotency key was already taken), and was announced by its statement. */
  insert(execution: NewExecution): Promise<{ created: boolean; announced: boolean }> {
    return new Promise((resolve, reject) => this.queue.add({ execution, resolve, reject }));
  }
}
