import type { Clock, Timer } from '../clock/clock.js';
import { CHANGE_PROBE_MS } from '../worker/change-probe.js';

/** Ids whose state one query reads at most (SQLite's limit of bound parameters is 32,766; most waits are few). */
const CHECK_CHUNK = 500;

/** What OutsideChanges reads through: the store's mark of other processes' writes, and which executions are final. */
export interface OutsideChangeReads {
  /** HotPathStore.writesElsewhere. */
  mark(): Promise<number>;
  /** ControlStore.finalAmong. */
  finalAmong(ids: string[]): Promise<string[]>;
}

/**
 * Tells waits in this process what other processes wrote, where no wake event crosses processes (SQLite):
 * a `waitFor` or a stream reader in an API process learned of an end written by a worker process only at
 * its own poll (250 ms by default). While any wait is registered, the store's mark of other processes'
 * writes is read every 25 ms of the clock, one read for all of them; when it moved, one query reads which
 * of the awaited executions are final, and only their waits are woken. Readers of published values, which
 * cannot tell from the execution's row whether a value came, are woken at every change and read again.
 *
 * An execution registered since the last reading is looked at once whatever the mark says: its wait read
 * the row before registering, and an end committed between that read and a reading would not move the
 * mark again. Each look follows a reading, so an end committed after it moves the next one.
 */
export class OutsideChanges {
  /** Awaited executions, each with the wake-ups of its waits. */
  private readonly ends = new Map<string, Set<() => void>>();
  /** Executions registered since the last look. */
  private readonly fresh = new Set<string>();
  /** Woken at every change (readers of events and streams). */
  private readonly readers = new Set<() => void>();
  private timer: Timer | undefined;
  private reading = false;
  private last: number | undefined;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly reads: OutsideChangeReads,
    readonly everyMs: number = CHANGE_PROBE_MS,
  ) {}

  /** Calls `wake` once a look finds execution `executionId` final; returns the unregistration. */
  awaitEnd(executionId: string, wake: () => void): () => void {
    let waits = this.ends.get(executionId);
    if (!waits) this.ends.set(executionId, (waits = new Set()));
    waits.add(wake);
    this.fresh.add(executionId);
    this.schedule();
    return () => {
      waits.delete(wake);
      if (waits.size === 0 && this.ends.get(executionId) === waits) {
        this.ends.delete(executionId);
        this.fresh.delete(executionId);
      }
    };
  }

  /** Calls `wake` whenever another process wrote; returns the unregistration. */
  onChange(wake: () => void): () => void {
    this.readers.add(wake);
    this.schedule();
    return () => void this.readers.delete(wake);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private get watching(): boolean {
    return this.ends.size > 0 || this.readers.size > 0;
  }

  private schedule(): void {
    if (this.stopped || this.timer || this.reading || !this.watching) return;
    this.timer = this.clock.setTimer(this.everyMs, () => {
      this.timer = undefined;
      void this.look();
    });
    this.timer.unref();
  }

  private async look(): Promise<void> {
    this.reading = true;
    try {
      const mark = await this.reads.mark();
      // No reading yet (a first look) counts as a change: every registered execution is looked at.
      const changed = mark !== this.last;
      this.last = mark;
      const ids = changed ? [...this.ends.keys()] : [...this.fresh];
      this.fresh.clear();
      if (changed) for (const wake of [...this.readers]) wake();
      for (let start = 0; start < ids.length && !this.stopped; start += CHECK_CHUNK) {
        for (const id of await this.reads.finalAmong(ids.slice(start, start + CHECK_CHUNK))) {
          for (const wake of [...(this.ends.get(id) ?? [])]) wake();
        }
      }
    } catch {
      // A failed read (the database closing, a lock held too long) leaves it to the waits' own polls; the
      // next reading counts as a change, so nothing registered meanwhile is skipped.
      this.last = undefined;
    } finally {
      this.reading = false;
      this.schedule();
    }
  }
}
