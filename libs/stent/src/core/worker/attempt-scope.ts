import type { ActivityScope } from '../context.js';
import type { StepRecord } from '../store/index.js';
import type { LazyAbort } from './lazy-abort.js';
import type { LeaseKeeper } from './lease-keeper.js';

/**
 * What an activity body sees of its attempt (`Stent.activity()`): a class, with `signal` a getter on its
 * prototype. Written as an object literal with `get signal()`, V8 made every scope a dictionary-mode object
 * and kept what the getter's closure reached (the attempt, its step, its promises and closures) alive
 * through every scavenge until the next full collection: each quick step's attempt was promoted to the old
 * generation (measured: 0.7 KB a step of a sequential workflow, two thirds of all it promoted), so a long
 * run's heap grew by garbage until a full collection. A plain object with an arrow function does not do it.
 */
export class AttemptScope implements ActivityScope {
  readonly kind = 'activity' as const;
  readonly executionId: string;
  readonly activityName: string;
  readonly attempt: number;
  readonly position: number;
  /** An own arrow function, so that `const { heartbeat } = Stent.activity()` keeps working. */
  readonly heartbeat: () => void;

  constructor(
    step: StepRecord,
    private readonly abort: LazyAbort,
    leases: LeaseKeeper,
  ) {
    this.executionId = step.executionId;
    this.activityName = step.name;
    this.attempt = step.attempts;
    this.position = step.position;
    this.heartbeat = () => leases.renewNow();
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }
}
