import type { Clock } from '../clock/clock.js';
import { StentError } from '../errors/index.js';
import type { ExecutionRecord, StentStore } from '../store/index.js';
import type { OutsideChanges } from './outside-changes.js';

/**
 * Waits for news of one execution: what it published (an event, a stream entry) or its end, heard as
 * wake events (in-process, and NOTIFY across processes on PostgreSQL; on SQLite, any write another
 * process made, see OutsideChanges) with a poll as the safety net. A wake-up that arrives while the
 * caller is reading is kept, so the next wait returns at once.
 */
export class ExecutionWatch {
  private pending = false;
  private wake: (() => void) | undefined;
  private readonly unsubscribe: () => void;
  private readonly unwatchOutside: (() => void) | undefined;

  constructor(
    private readonly store: StentStore,
    private readonly clock: Clock,
    private readonly executionId: string,
    private readonly signal?: AbortSignal,
    outside?: OutsideChanges,
  ) {
    signal?.addEventListener('abort', this.onAbort);
    this.unwatchOutside = outside?.onChange(() => this.notify());
    this.unsubscribe = store.subscribe((event) => {
      // Not 'work' (announced at every dispatch and step): a reader would read at each; its poll covers a lost NOTIFY.
      if ((event.type === 'published' || event.type === 'finished') && event.executionId === executionId) this.notify();
    });
  }

  /** The execution's record, or undefined while the database is out of reach (the next poll looks again). */
  async read(): Promise<ExecutionRecord | null | undefined> {
    try {
      return await this.store.getExecution(this.executionId);
    } catch (error) {
      if (error instanceof StentError && error.category === 'unavailable') return undefined;
      throw error;
    }
  }

  /** Resolves at the next wake-up for this execution, or after `pollMs`. */
  next(pollMs: number): Promise<void> {
    if (this.pending || this.signal?.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = this.clock.setTimer(pollMs, () => {
        this.wake = undefined;
        resolve();
      });
      this.wake = () => {
        timer.cancel();
        resolve();
      };
    });
  }

  close(): void {
    this.unsubscribe();
    this.unwatchOutside?.();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.wake = undefined;
  }

  private readonly onAbort = (): void => this.notify();

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    if (wake) wake();
    else this.pending = true;
  }
}
