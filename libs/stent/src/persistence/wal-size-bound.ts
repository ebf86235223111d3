import { statSync } from 'node:fs';

/**
 * The hard bound on a WAL file's size, kept by the writer. The checkpointer thread's PASSIVE checkpoints and
 * the writer's own automatic one give way to each other: while one holds the checkpoint lock, the other
 * skips its turn. When checkpoints are slow (fsyncs queued behind other work on the disk, a thread kept
 * off the CPU), the thread's checkpoint can hold that lock across many of the writer's commits, so every
 * automatic checkpoint is skipped, frames keep being appended during each checkpoint, and the WAL never
 * gets back to its start: it grows without limit for as long as the writes go on.
 *
 * So after a writing commit that leaves the WAL file larger than the bound, the writer checkpoints in
 * TRUNCATE mode: it waits for the checkpoint under way (as long as it waits for any lock), copies the rest
 * back and empties the file before it writes again. That pause is the back-pressure a bounded WAL needs;
 * on a machine whose checkpoints keep up it happens about once per bound's worth of writes, on a WAL the
 * automatic checkpoint has already copied back.
 */
export class WalSizeBound {
  /** The size above which the next commit truncates: the bound, or more after an attempt that could not. */
  private limitBytes: number;
  /** When the file was last looked at (Date.now()). */
  private lookedAt = 0;

  constructor(
    private readonly walFile: string,
    private readonly boundBytes: number,
    /** Checkpoints and empties the WAL; false when it could not (a reader or a checkpoint still on it). */
    private readonly truncate: () => boolean,
  ) {
    this.limitBytes = boundBytes;
  }

  /** After a writing commit: truncates the WAL when it is larger than the limit. */
  committed(): void {
    // A stat costs a few microseconds of CPU, a sequential step's commit on SQLite about a hundred: look at
    // most once a millisecond. What commits write meanwhile is checked at the next one.
    const now = Date.now();
    if (now === this.lookedAt) return;
    this.lookedAt = now;
    const size = statSync(this.walFile, { throwIfNoEntry: false })?.size ?? 0;
    if (size <= this.limitBytes) return;
    if (this.truncate()) {
      this.limitBytes = this.boundBytes;
      return;
    }
    // A reader in another process can keep the WAL in use for as long as it likes: rather than pause at
    // every commit meanwhile, try again once the file has grown by another quarter of the bound.
    this.limitBytes = size + this.boundBytes / 4;
  }
}
