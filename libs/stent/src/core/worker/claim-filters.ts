import type { ClaimFilter } from '../store/index.js';
import { activityLimits, flowLimits, keyedBodiesPastOutcome } from './claim-limits.js';
import type { Worker } from './worker.js';

/** How long a keyed step finished here is assumed to wait for its result's write at most. */
const FINISHED_KEYED_MS = 10_000;
/** How often a claim round also looks for steps with flow keys of activities served here without flow limits (ClaimFilter.strays). */
const STRAYS_CHECK_MS = 5_000;

/**
 * What a worker's claims look for: its activities or workflows, queues and tags, the limits less what its
 * own lingering bodies hold, and the keyed steps whose bodies finished here.
 */
export class ClaimFilters {
  /** See finishedKeyedSteps: step id to when its body finished (SlotHandOn.release adds them). */
  readonly finishedKeyed = new Map<string, number>();
  private straysCheckedAt = -Infinity;

  constructor(
    private readonly worker: Worker,
    /** Other live workers on the database, as the claim loop last counted them. */
    private readonly peers: () => number,
  ) {}

  /** A claim of activity steps. */
  activities(limit: number): ClaimFilter {
    const { worker } = this;
    return {
      owner: worker.ownerId,
      names: worker.registry.activityNames(),
      queues: worker.settings.queues,
      tags: worker.settings.tags,
      limit,
      now: worker.clock.now(),
      leaseMs: worker.settings.leaseMs,
      limits: activityLimits(worker),
      flow: flowLimits(worker),
      finishedHere: this.finishedKeyedSteps(),
      runningPastOutcome: keyedBodiesPastOutcome(worker),
      // Only with other workers on the database (as last counted): alone, every run is held here, and the
      // preference would cost a read of each candidate's execution for nothing.
      preferHeld: worker.registry.flowLimits().size > 0 && this.peers() > 0,
    };
  }

  /** What a claim of executions looks for: this worker's workflows, in the versions it can replay. */
  workflows(limit: number): ClaimFilter {
    const { registry } = this.worker;
    return {
      ...this.activities(limit),
      names: registry.workflowNames(),
      limits: new Map(),
      flow: registry.workflowFlowLimits(),
      finishedHere: undefined,
      runningPastOutcome: undefined,
      preferHeld: undefined,
      versions: registry.workflowVersions(),
    };
  }

  /** Whether this claim also looks for stray steps: once every STRAYS_CHECK_MS (at once after a start). */
  straysDue(): boolean {
    const now = this.worker.clock.now();
    if (now - this.straysCheckedAt < STRAYS_CHECK_MS) return false;
    this.straysCheckedAt = now;
    return true;
  }

  /** The worker starts again afresh: look for strays at its first claim. */
  forget(): void {
    this.straysCheckedAt = -Infinity;
  }

  /**
   * Keyed steps whose bodies finished here with results not yet written (see ClaimFilter.finishedHere).
   * An entry is dropped after a while: by then its result is written (or, if not, the step is counted as
   * running again, which only holds back more than needed).
   */
  private finishedKeyedSteps(): string[] | undefined {
    if (this.finishedKeyed.size === 0) return undefined;
    const oldest = this.worker.clock.now() - FINISHED_KEYED_MS;
    for (const [id, at] of this.finishedKeyed) if (at < oldest) this.finishedKeyed.delete(id);
    return [...this.finishedKeyed.keys()];
  }
}
