import { repeatOn, type Clock, type Timer } from '../clock/clock.js';
import type { StentLogger } from '../logger.js';
import { describeUnservedWork, type UnservedWork } from './operations/unserved-work.js';

/** Warn about the same work again after this long if it still waits. */
const REPEAT_WARNING_MS = 10 * 60_000;

/**
 * A worker process's periodic look for due work that no live worker will take, logged as a warning once
 * per kind, queue and name (and again while it keeps waiting), so a queue typo or a worker deployed
 * without a class is noticed instead of leaving executions pending in silence.
 */
export class UnservedWatch {
  private timer: Timer | undefined;
  private readonly warnedAt = new Map<string, number>();
  private checking = false;

  constructor(
    private readonly clock: Clock,
    private readonly logger: StentLogger,
    private readonly find: () => Promise<UnservedWork[]>,
  ) {}

  start(intervalMs: number): void {
    this.timer?.cancel();
    this.timer = repeatOn(this.clock, intervalMs, () => void this.check());
    this.timer.unref();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const now = this.clock.now();
      const waiting = await this.find();
      const keys = new Set<string>();
      for (const work of waiting) {
        const key = `${work.kind}\u0000${work.queue}\u0000${work.name}`;
        keys.add(key);
        const last = this.warnedAt.get(key);
        if (last !== undefined && now - last < REPEAT_WARNING_MS) continue;
        this.warnedAt.set(key, now);
        this.logger.warn(`Unserved work: ${describeUnservedWork(work)}`);
      }
      for (const key of this.warnedAt.keys()) if (!keys.has(key)) this.warnedAt.delete(key);
    } catch {
      // The database being unreachable is reported by readiness and health; this watch only adds a hint.
    } finally {
      this.checking = false;
    }
  }
}
