import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createStentStore, StentExecutor, type StentStore } from 'nestjs-stent';
import { CappedPadder, Padder, PaddedSteps } from '../fixtures/wal-flows.js';
import { TestProcess } from '../support/child-process.js';
import { QUICK_WORKER } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/** SQLite's page size and the writer's automatic checkpoint at its default, which this change moves off COMMIT. */
const PAGE = 4096;
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
/** The bound the writer keeps (WRITER_AUTOCHECKPOINT_PAGES): the WAL may reach it, plus the frames of one transaction. */
const BOUND_PAGES = 10_000;
/** The WAL file at the bound, to the byte: its header, then a 24-byte header and a page for each frame (SQLite's WAL format). */
const BOUND_BYTES = 32 + BOUND_PAGES * (24 + PAGE);

/**
 * Runs node under strace with every fsync and fdatasync held for half a second: a disk whose syncs queue
 * behind other work, so each checkpoint takes far longer than the commits that keep appending to the WAL.
 * Only those two calls are traced (seccomp), so nothing else in the process slows down.
 */
const SLOW_SYNCS = ['strace', '-f', '-qq', '--seccomp-bpf', '-o', '/dev/null', '-e', 'trace=fsync,fdatasync', '-e', 'inject=fsync,fdatasync:delay_exit=500000'];

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/** Threads of this process: the checkpointer is one more. */
const threads = (): number => Number(/^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);

/** The store, counting the claim rounds of the worker that uses it. */
function countingClaims(store: StentStore): { store: StentStore; rounds(): number } {
  let rounds = 0;
  const counting = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (property === 'claimSteps') rounds++;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: counting, rounds: () => rounds };
}

const walBytes = (file: string): number => (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);

/** The final state of `id` as the database file alone holds it (its WAL left out): what has been checkpointed. */
function stateInMainFile(file: string, id: string): string | undefined {
  const copy = `${file}.copy`;
  copyFileSync(file, copy);
  rmSync(`${copy}-wal`, { force: true });
  const db = new Database(copy, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT state FROM stent_executions WHERE id = ?').get(id) as { state: string } | undefined)?.state;
  } finally {
    db.close();
    rmSync(copy, { force: true });
  }
}

describe('WAL checkpoints of a better-sqlite3 file', () => {
  let dir: string | undefined;
  let executor: StentExecutor | undefined;
  afterEach(async () => {
    await executor?.close('5s').catch(() => undefined);
    executor = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function open(): Promise<string> {
    dir = mkdtempSync(join(tmpdir(), 'stent-wal-'));
    const file = join(dir, 'stent.db');
    executor = new StentExecutor({ store: await createStentStore({ database: { type: 'better-sqlite3', database: file } }), worker: QUICK_WORKER });
    executor.register(new Padder(), new PaddedSteps(new Padder()));
    await executor.start();
    return file;
  }

  it('copies a busy WAL back into the database file in the background, before it reaches the size where a COMMIT would', async () => {
    const file = await open();
    // Enough commits to start the checkpointer, too few pages for the writer's default automatic checkpoint.
    const id = await executor!.dispatch(PaddedSteps, [80, 16]);
    expect((await executor!.waitFor(id, { timeout: '60s' })).state).toBe('completed');
    const wal = walBytes(file);
    expect(wal).toBeGreaterThan(0);
    expect(wal).toBeLessThan(DEFAULT_AUTOCHECKPOINT_PAGES * PAGE);

    await waitUntil(() => stateInMainFile(file, id) === 'completed', 'the finished execution in the database file itself', 20_000, 50);

    await executor!.close('5s');
    executor = undefined;
    // The checkpointer's connection closed before the writer's, so the writer's close removed the WAL.
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('an idle worker, whose claim rounds write nothing, starts no checkpointer thread; its first writes do', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stent-wal-'));
    const file = join(dir, 'stent.db');
    const claims = countingClaims(await createStentStore({ database: { type: 'better-sqlite3', database: file } }));
    // Polls every 5 ms: hundreds of claim transactions (for the capped activity), each committed, in a second or two.
    executor = new StentExecutor({ store: claims.store, worker: { ...QUICK_WORKER, pollInterval: '5ms', maxPollInterval: '5ms' } });
    executor.register(new Padder(), new CappedPadder(), new PaddedSteps(new Padder()));
    await executor.start();
    const before = threads();
    await waitUntil(() => claims.rounds() >= 200, '200 claim rounds', 60_000);
    expect(threads()).toBe(before);

    const id = await executor.dispatch(PaddedSteps, [60, 16]);
    expect((await executor.waitFor(id, { timeout: '60s' })).state).toBe('completed');
    await waitUntil(() => threads() === before + 1, 'the checkpointer thread to start', 10_000);
  });

  it('keeps the WAL bounded while a workflow writes far more pages than the bound, even when checkpoints are slow', async () => {
    expect(existsSync('/usr/bin/strace'), '/usr/bin/strace is missing: apt-get install strace').toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'stent-wal-'));
    const file = join(dir, 'stent.db');
    // Each result spans about three pages: 5,000 steps, 250 at a time, write past the bound.
    const writer = new TestProcess(fixture('wal-writer.js'), {
      label: 'WAL writer on a slow disk',
      wrapper: SLOW_SYNCS,
      env: { WAL_FILE: file, WAL_STEPS: JSON.stringify([5_000, 9_000, 250]) },
    });
    const sizes: number[] = [];
    await waitUntil(
      () => {
        sizes.push(walBytes(file));
        return !writer.alive;
      },
      'the 5,000-step workflow to finish',
      240_000,
      10,
    );
    const largest = Math.max(...sizes);
    const done = await writer.waitForJson((line) => line.done === true, 'its result');
    expect(done).toMatchObject({ state: 'completed', value: 5_000 * 9_000 });
    // The rows went through the WAL into the database file: far more pages than the WAL ever held.
    expect(done.fileBytes as number).toBeGreaterThan(BOUND_PAGES * PAGE);
    expect(largest, `the WAL reached ${Math.round(largest / PAGE)} pages`).toBeLessThan(BOUND_PAGES * 1.1 * PAGE);
    // The thread's checkpoints cannot keep up here, so the WAL reaches the bound again and again. There the
    // writer copies the last frames back and the WAL starts over in the file it has, which stays at the bound
    // to the byte (journal_size_limit) until the WAL has filled it again. Emptied instead, the file would be
    // seen above the bound and then far below it, never at it.
    const first = sizes.findIndex((size) => size >= BOUND_BYTES);
    expect(first, 'the WAL reached the bound').toBeGreaterThanOrEqual(0);
    const later = sizes.slice(first);
    expect(later.filter((size) => size === BOUND_BYTES).length, `sizes seen: ${[...new Set(later)].slice(0, 20).join(', ')}`).toBeGreaterThanOrEqual(10);
    // Emptied at most once: a WAL that keeps failing to start over is emptied instead.
    expect(later.filter((size, i) => i > 0 && size < BOUND_BYTES / 2 && later[i - 1]! >= BOUND_BYTES / 2).length).toBeLessThanOrEqual(1);
  }, 300_000);
});
