import { parentPort, workerData } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';

/**
 * The body of the thread a WalCheckpointer starts: its own better-sqlite3 connection to the file, which
 * copies the WAL back into the database file every `intervalMs` with PASSIVE checkpoints (they never wait
 * for, nor block, the process's writer). The fsyncs of a checkpoint then wait on this thread instead of
 * inside a COMMIT on the event loop. Same SQLite library as the writer's (one addon per process), so the
 * two connections see each other's locks.
 */
interface ThreadData {
  file: string;
  intervalMs: number;
  /** The writer's commit count, shared: an interval with no new commit has nothing to copy back. */
  commits: Int32Array;
}

type BetterSqlite3Constructor = new (file: string, options: { fileMustExist: boolean; timeout: number }) => Database;

const { file, intervalMs, commits } = workerData as ThreadData;
const name = 'better-sqlite3';
const BetterSqlite3 = ((await import(name)) as { default: BetterSqlite3Constructor }).default;
const db = new BetterSqlite3(file, { fileMustExist: true, timeout: 0 });
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

/** The commit count the last complete checkpoint covered. */
let copied: number | undefined;

const timer = setInterval(() => {
  const committed = Atomics.load(commits, 0);
  if (committed === copied) return;
  try {
    const [result] = checkpoint.all() as Array<{ log: number; checkpointed: number }>;
    // A checkpoint that left frames behind (a reader still needs them) is tried again next time.
    if (result && result.checkpointed === result.log) copied = committed;
  } catch {
    // A checkpoint that cannot run now (the file busy in another process) is tried again next time; the
    // writer's own automatic checkpoint bounds the WAL meanwhile.
  }
}, intervalMs);

parentPort?.on('message', (message: unknown) => {
  if (message !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
