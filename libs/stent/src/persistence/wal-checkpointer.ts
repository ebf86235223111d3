import { Worker } from 'node:worker_threads';

/**
 * Pages the WAL of a file Stent opens with better-sqlite3 may reach before the writer checkpoints it itself,
 * inside the COMMIT that crossed the mark (SQLite's `wal_autocheckpoint`, 1,000 by default). A step row
 * dirties several pages (the table and its indexes), so at the default a sequential workflow paid a
 * synced checkpoint every hundred-odd steps, on the step's path. With the checkpointer thread copying
 * the WAL back meanwhile, this is only the bound: 10,000 pages of 4 KB.
 */
export const WRITER_AUTOCHECKPOINT_PAGES = 10_000;

/** How often the checkpointer thread checkpoints. */
export const CHECKPOINT_INTERVAL_MS = 50;

/** Commits before the thread is started: a process that writes a few rows (the CLI, a short test) starts none. */
export const COMMITS_BEFORE_CHECKPOINTER = 50;

/**
 * Moves the WAL checkpoints of one SQLite file off the event loop: after the first commits, a worker
 * thread with its own connection runs PASSIVE checkpoints every CHECKPOINT_INTERVAL_MS, while the
 * process's writer keeps its own automatic checkpoint only as a bound (WRITER_AUTOCHECKPOINT_PAGES).
 * If the thread cannot start, the writer goes back to SQLite's default cadence.
 */
export class WalCheckpointer {
  private commits = 0;
  /** The same count, shared with the thread, which skips its checkpoint while it has not moved. */
  private readonly sharedCommits = new Int32Array(new SharedArrayBuffer(4));
  private thread: Worker | undefined;
  private closed = false;

  constructor(
    private readonly file: string,
    /** Puts the writer's automatic checkpoint back to SQLite's default, when the thread failed. */
    private readonly fallBack: () => void,
  ) {}

  /** Counts a commit of the writer; starts the thread at the COMMITS_BEFORE_CHECKPOINTER-th. */
  committed(): void {
    Atomics.add(this.sharedCommits, 0, 1);
    if (++this.commits !== COMMITS_BEFORE_CHECKPOINTER || this.closed) return;
    this.start();
  }

  get running(): boolean {
    return this.thread !== undefined;
  }

  private start(): void {
    let thread: Worker;
    try {
      thread = new Worker(new URL('./wal-checkpoint-thread.js', import.meta.url), {
        workerData: { file: this.file, intervalMs: CHECKPOINT_INTERVAL_MS, commits: this.sharedCommits },
      });
    } catch {
      this.fallBack();
      return;
    }
    // The thread must not keep the process alive: the writer's close ends it anyway.
    thread.unref();
    thread.on('error', () => {
      if (this.thread !== thread) return;
      this.thread = undefined;
      if (!this.closed) this.fallBack();
    });
    thread.on('exit', () => {
      if (this.thread === thread) this.thread = undefined;
    });
    this.thread = thread;
  }

  /** Stops the thread and waits for its connection to close (before the writer's, whose close then removes the WAL). */
  async close(): Promise<void> {
    this.closed = true;
    const thread = this.thread;
    this.thread = undefined;
    if (!thread) return;
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.postMessage('close');
    const timer = setTimeout(() => void thread.terminate(), 2_000);
    await exited;
    clearTimeout(timer);
  }
}
