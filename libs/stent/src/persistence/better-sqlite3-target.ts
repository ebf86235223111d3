import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import { ConfigurationError } from '../core/index.js';
import { BetterSqlite3Client } from './clients/better-sqlite3-client.js';
import { SqliteFileTarget } from './sqlite-file-target.js';
import { WalCheckpointer, WRITER_AUTOCHECKPOINT_PAGES } from './wal-checkpointer.js';
import { WalSizeBound } from './wal-size-bound.js';

type BetterSqlite3Constructor = new (file: string, options: { timeout: number }) => Database;

/** Loads `better-sqlite3` on first use only (an optional peer dependency). */
async function loadBetterSqlite3(): Promise<BetterSqlite3Constructor> {
  const name = 'better-sqlite3';
  try {
    const loaded = (await import(name)) as { default: BetterSqlite3Constructor };
    return loaded.default;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ConfigurationError("database type 'better-sqlite3' needs the better-sqlite3 package: npm install better-sqlite3", { cause: error });
    }
    throw error;
  }
}

/**
 * A SQLite file Stent opens with `better-sqlite3` itself for `database: { type: 'better-sqlite3' }`. It is
 * opened as TypeORM's driver opened it (directory created, busy timeout, foreign keys, WAL, synchronous=
 * NORMAL), but without loading TypeORM: a process that only runs Stent (a worker, the CLI) starts in
 * about half the CPU time. A file's WAL is checkpointed by a thread of its own (WalCheckpointer), not in
 * the writer's COMMITs.
 */
export class BetterSqlite3Target extends SqliteFileTarget<Database> {
  private readonly checkpointers = new WeakMap<Database, WalCheckpointer>();
  private readonly bounds = new WeakMap<Database, WalSizeBound>();

  constructor(file: string, busyTimeoutMs: number) {
    super(file, busyTimeoutMs, 'better-sqlite3');
  }

  protected async openFile(): Promise<Database> {
    const BetterSqlite3 = await loadBetterSqlite3();
    const inMemory = this.file === ':memory:' || this.file === '';
    if (!inMemory) await mkdir(dirname(this.file), { recursive: true });
    const db = new BetterSqlite3(this.file, { timeout: this.busyTimeoutMs });
    try {
      db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      if (!inMemory && db.pragma('journal_mode = WAL', { simple: true }) === 'wal') {
        db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
        this.checkpointers.set(db, new WalCheckpointer(this.file, () => resetAutocheckpoint(db)));
        const frameBytes = (db.pragma('page_size', { simple: true }) as number) + WAL_FRAME_HEADER_BYTES;
        const boundBytes = WAL_HEADER_BYTES + WRITER_AUTOCHECKPOINT_PAGES * frameBytes;
        // A WAL that starts over from its first frame is cut back to the bound by the commit that does it,
        // not left at the largest size it ever reached (see WalSizeBound).
        db.pragma(`journal_size_limit = ${boundBytes}`);
        this.bounds.set(
          db,
          new WalSizeBound(`${this.file}-wal`, boundBytes, {
            copyBack: () => copyWalBack(db, this.busyTimeoutMs),
            truncate: () => truncateWal(db, this.busyTimeoutMs),
          }),
        );
      }
    } catch (error) {
      db.close();
      throw error;
    }
    return db;
  }

  protected async closeFile(db: Database): Promise<void> {
    // The thread's connection closes first, so the writer's close is the last and removes the WAL.
    await this.checkpointers.get(db)?.close();
    db.close();
  }

  protected clientOf(db: Database): BetterSqlite3Client {
    const checkpointer = this.checkpointers.get(db);
    const bound = this.bounds.get(db);
    return new BetterSqlite3Client(db, this.fileKey, {
      onCommit:
        checkpointer &&
        onWritingCommit(db, () => {
          checkpointer.committed();
          bound?.committed();
        }),
      ownsConnection: true,
    });
  }
}

/**
 * `committed` for the commits that changed rows only. An idle worker's claim rounds are transactions that
 * write nothing: counted, they started the checkpointer thread in a process that only waits, and kept
 * waking it to checkpoint a WAL that had not grown.
 */
function onWritingCommit(db: Database, committed: () => void): () => void {
  const totalChanges = db.prepare('SELECT total_changes()').pluck();
  let counted = 0;
  return () => {
    const total = totalChanges.get() as number;
    if (total === counted) return;
    counted = total;
    committed();
  };
}

/** A WAL file's own header, and each frame's before its page (SQLite's WAL format). */
const WAL_HEADER_BYTES = 32;
const WAL_FRAME_HEADER_BYTES = 24;

/**
 * A checkpoint that copies every frame of the WAL back into the database file, without emptying the file:
 * the writer's next transaction then starts the WAL over from its first frame. False when a frame was left
 * behind (a reader in another connection still needs it) or the checkpoint could not run.
 */
function copyWalBack(db: Database, busyTimeoutMs: number): boolean {
  const result = checkpointWal(db, 'PASSIVE', busyTimeoutMs);
  return result !== undefined && result.busy === 0 && result.checkpointed === result.log;
}

/**
 * A checkpoint that copies the whole WAL back and empties the file, waiting for the locks it needs as long
 * as any statement of this connection waits for one (the busy timeout); false when it could not finish.
 */
function truncateWal(db: Database, busyTimeoutMs: number): boolean {
  return checkpointWal(db, 'TRUNCATE', busyTimeoutMs)?.busy === 0;
}

/**
 * A checkpoint of this connection in `mode`, after waiting out one under way on another connection (the
 * checkpointer thread's) until the busy timeout; undefined when it could not run.
 */
function checkpointWal(db: Database, mode: 'PASSIVE' | 'TRUNCATE', busyTimeoutMs: number): { busy: number; log: number; checkpointed: number } | undefined {
  const deadline = Date.now() + busyTimeoutMs;
  try {
    // Waiting for the writers and readers of other connections goes through the busy handler (TRUNCATE)...
    for (;;) {
      const [result] = db.pragma(`wal_checkpoint(${mode})`) as Array<{ busy: number; log: number; checkpointed: number }>;
      // ...but a checkpoint under way on another connection is not waited for: SQLite answers at once, with
      // no log (-1). The thread's checkpoint ends on its own; try again shortly.
      if (result?.log !== -1) return result;
      if (Date.now() >= deadline) return undefined;
      Atomics.wait(pause, 0, 0, 2);
    }
  } catch {
    return undefined;
  }
}

/** Something to block on between attempts: the writer is meant to stop until the WAL is emptied. */
const pause = new Int32Array(new SharedArrayBuffer(4));

/** SQLite's default automatic checkpoint, for a writer whose checkpointer thread could not run. */
function resetAutocheckpoint(db: Database): void {
  try {
    if (db.open) db.pragma('wal_autocheckpoint = 1000');
  } catch {
    // Closed meanwhile: nothing to checkpoint for.
  }
}
