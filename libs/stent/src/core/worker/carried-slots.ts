import type { LocalCompletion } from '../store/index.js';

/**
 * Worker slots carried over from an activity whose workflow runs here, and waits on that activity alone,
 * to that run's next call. When such an activity's body returns, its run gets the result at its next
 * turn (a macrotask later) and its next calls are recorded with it; meanwhile the slot would be free, and
 * a claim round or a step waiting for a slot took it almost every time under load. The run's next
 * activity then went to the database pending, where another worker often claimed it, and its result came
 * back through that worker's write, a notification and a read of the journal.
 *
 * So the slot stays taken until the end of that turn. The write that records the result with the run's
 * next calls spends it on one of them, started here at insert (LocalDispatch.reserveLocal); a slot the
 * turn did not spend (the workflow ends, or its writes are queued behind one still on its way) is free
 * again once the turn's macrotask has passed. No more bodies run at once than the worker's concurrency:
 * a carried slot counts as taken.
 */
export class CarriedSlots {
  /** Step id of the finished activity to the generation it was carried in (see release). */
  private readonly slots = new Map<string, number>();
  private generation = 0;
  private releaseQueued = false;

  constructor(
    /** Slots went back unspent: waiting steps and claims may take them. */
    private readonly freed: () => void,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  /**
   * The body of step `stepId` finished and its run here is about to get the result: its slot is carried
   * to the run's next turn (taken before the slot would be counted free).
   */
  carry(stepId: string): void {
    this.slots.set(stepId, this.generation);
  }

  /**
   * The result was handed to the run (its turn is queued): the slots carried so far go back a macrotask
   * later, after that turn. Slots carried after this point (by an outcome that came meanwhile, whose turn
   * may be queued behind this release) wait for a release of their own.
   */
  releaseAfterTurn(): void {
    if (this.releaseQueued || this.slots.size === 0) return;
    this.releaseQueued = true;
    const upTo = ++this.generation;
    setImmediate(() => this.release(upTo));
  }

  /** Takes the slots carried for these results (a write records them now): how many there were. */
  take(completions: readonly LocalCompletion[]): number {
    if (this.slots.size === 0) return 0;
    let taken = 0;
    for (const completion of completions) if (this.slots.delete(completion.fence.stepId)) taken++;
    return taken;
  }

  clear(): void {
    this.slots.clear();
  }

  private release(upTo: number): void {
    this.releaseQueued = false;
    let released = 0;
    for (const [id, generation] of this.slots) {
      if (generation >= upTo) continue;
      this.slots.delete(id);
      released++;
    }
    if (this.slots.size > 0) {
      this.releaseQueued = true;
      const next = ++this.generation;
      setImmediate(() => this.release(next));
    }
    if (released > 0) this.freed();
  }
}
