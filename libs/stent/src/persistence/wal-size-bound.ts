import { statSync } from 'node:fs';

/**
 * Looks in a row at a WAL above the bound that copy it back before one empties it: a start-over can miss
 * its commit when the thread's checkpoint holds the locks it needs at that moment, and is tried again.
 */
export const START_OVER_ATTEMPTS = 3;

/** The two checkpoints the writer can run itself: both wait out one under way on another connection. */
export interface WalCheckpoints {
  /** Copies every frame back without emptying the file (PASSIVE); false when a frame was left behind. */
  copyBack(): boolean;
  /** Copies every frame back and empties the file (TRUNCATE); false when it could not. */
  truncate(): boolean;
}

/**
 * The hard bound on a WAL file's size, kept by the writer. The checkpointer thread's PASSIVE checkpoints and
 * the writer's own automatic one give way to each other: while one holds the checkpoint lock, the other
 * skips its turn. When checkpoints are slow (fsyncs queued behind other work on the disk, a thread kept
 * off the CPU), the thread's checkpoint can hold that lock across many of the writer's commits, so every
 * automatic checkpoint is skipped, frames keep being appended during each checkpoint, and the WAL never
 * gets back to its start: it grows without limit for as long as the writes go on.
 *
 * So after a writing commit that leaves the WAL file larger than the bound, the writer acts, waiting for
 * the checkpoint under way (as long as it waits for any lock). That pause is the back-pressure a bounded
 * WAL needs. It copies back what the thread has not yet (usually a few frames): with every frame in the
 * database file, its next commit starts the WAL over from the first frame, and `journal_size_limit` cuts
 * the file back to the bound. Only when the WAL has not started over after START_OVER_ATTEMPTS looks (a
 * reader in another process still on old frames) does it checkpoint in TRUNCATE mode, emptying the file.
 *
 * Why not empty it each time: the file's size is the largest the WAL has been, not its length, and under
 * steady writes the WAL never starts over by itself (frames arrive during every checkpoint of the thread),
 * so the file reaches the bound about once per bound's worth of writes. Emptying a file of the bound's
 * size gives its blocks back to the file system, which took 15-23 ms inside the COMMIT that did it on the
 * test machine; copying back the last frames takes a fraction of a millisecond, and the WAL then writes
 * over blocks it already has.
 */
export class WalSizeBound {
  /** The size above which the next commit acts: the bound, or more after a truncation that could not run. */
  private limitBytes: number;
  /** When the file was last looked at (Date.now()). */
  private lookedAt = 0;
  /** Looks in a row that copied every frame back, after each of which the WAL should have started over. */
  private startOverAttempts = 0;

  constructor(
    private readonly walFile: string,
    private readonly boundBytes: number,
    private readonly checkpoints: WalCheckpoints,
  ) {
    this.limitBytes = boundBytes;
  }

  /** After a writing commit: starts the WAL over, or empties it, when the file is larger than the limit. */
  committed(): void {
    // A stat costs a few microseconds of CPU, a sequential step's commit on SQLite about a hundred: look at
    // most once a millisecond. What commits write meanwhile is checked at the next one.
    const now = Date.now();
    if (now === this.lookedAt) return;
    this.lookedAt = now;
    const size = statSync(this.walFile, { throwIfNoEntry: false })?.size ?? 0;
    if (size <= this.limitBytes) {
      // The WAL started over: a limit raised while a reader held it on (below) is the bound again.
      if (this.startOverAttempts > 0) this.limitBytes = this.boundBytes;
      this.startOverAttempts = 0;
      return;
    }
    if (this.startOverAttempts < START_OVER_ATTEMPTS && this.checkpoints.copyBack()) {
      this.startOverAttempts++;
      return;
    }
    this.startOverAttempts = 0;
    if (this.checkpoints.truncate()) {
      this.limitBytes = this.boundBytes;
      return;
    }
    // A reader in another process can keep the WAL in use for as long as it likes: rather than pause at
    // every commit meanwhile, try again once the file has grown by another quarter of the bound.
    this.limitBytes = size + this.boundBytes / 4;
  }
}
