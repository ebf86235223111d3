import type { ClaimFilter, OtherVersionRecord } from '../store/index.js';
import type { Worker } from './worker.js';

/** How often a worker re-counts the due executions it leaves to workers of other versions. */
const CHECK_MS = 2_000;

/**
 * Executions of a versioned workflow whose version this worker cannot replay are left for other workers.
 * The watch counts the due ones now and then, so `stats()` can show them, and logs when that changes: a
 * count that stays up means no worker of that version is running.
 */
export class VersionWatch {
  /** What the last check found. */
  leftForOthers: OtherVersionRecord[] = [];
  private checkedAt = -Infinity;
  private reported = '';

  constructor(private readonly worker: Worker) {}

  /** Whether check() would look at `now`: the claim loop ticks at every step, and builds the filter only then. */
  due(now: number): boolean {
    return now - this.checkedAt >= CHECK_MS;
  }

  async check(filter: ClaimFilter): Promise<void> {
    const { worker } = this;
    if (!this.due(filter.now)) return;
    this.checkedAt = filter.now;
    if (!filter.versions || filter.versions.size === 0) return;
    this.leftForOthers = await worker.store.otherVersionsDue(filter);
    const summary = this.leftForOthers.map((left) => `${left.due} of ${left.workflowName} v${left.version}`).join(', ');
    if (summary === this.reported) return;
    this.reported = summary;
    if (summary === '') {
      worker.logger.log(`Worker ${worker.ownerId}: no due executions of other workflow versions left`, { workerId: worker.ownerId });
      return;
    }
    const ranges = [...filter.versions].map(([name, range]) => `${name} v${range.from === range.to ? range.to : `${range.from}-${range.to}`}`).join(', ');
    worker.logger.warn(
      `Worker ${worker.ownerId} leaves due executions to workers that can replay their version: ${summary} (this worker replays ${ranges})`,
      { workerId: worker.ownerId, leftForOthers: this.leftForOthers },
    );
  }

  forget(): void {
    this.leftForOthers = [];
    this.checkedAt = -Infinity;
    this.reported = '';
  }
}
