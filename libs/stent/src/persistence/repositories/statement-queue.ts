/** A queued write: settled by the statement that carries it. */
export interface QueuedEntry {
  reject(error: unknown): void;
}

/** What a StatementQueue is built from. */
export interface StatementQueueParts<Entry extends QueuedEntry, Written> {
  /** Removes from the queue (never empty) and returns the entries of the next statement, in order. */
  next(queue: Entry[]): Entry[];
  /** Sends one statement for `batch`. */
  write(batch: Entry[]): Promise<Written>;
  /** Resolves each entry of `batch` from what its statement wrote. */
  settle(batch: Entry[], written: Written): void;
}

/**
 * Group commit within one process: entries queued while a statement is on its way go together in the
 * next one, and one queued while none is goes at once (a microtask later, with whatever joins it in the
 * same turn). A statement the database refuses fails none of the entries sharing it: each goes again in
 * a statement of its own, and only the one at fault gets the error.
 */
export class StatementQueue<Entry extends QueuedEntry, Written> {
  private queue: Entry[] = [];
  private flushing = false;

  constructor(private readonly parts: StatementQueueParts<Entry, Written>) {}

  add(entry: Entry): void {
    this.queue.push(entry);
    if (this.flushing) return;
    this.flushing = true;
    queueMicrotask(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const { next, write, settle } = this.parts;
    try {
      while (this.queue.length > 0) {
        const batch = next(this.queue);
        try {
          settle(batch, await write(batch));
        } catch (error) {
          if (batch.length === 1) {
            batch[0]!.reject(error);
            continue;
          }
          for (const entry of batch) {
            try {
              settle([entry], await write([entry]));
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
