import type { Clock, Timer } from '../clock/clock.js';
import type { LocalCompletion, StepRecord } from '../store/index.js';

/**
 * How long a finished keyed step's slot waits to be handed on to its run's next call of the key (recorded
 * with the result, a write later) before claims may count it free: about a write's round trip on a busy
 * machine. By then the result is written in most cases anyway, which frees the slot for every worker.
 */
export const HAND_ON_MS = 50;

/**
 * Slots of keyed steps (per-key concurrency) whose bodies finished here and whose results their runs hold,
 * not yet written. Such a slot goes one of two ways, never both: handed on to the run's next call of the
 * same activity and key, which is then inserted running in the write that records the result (that write
 * ends one step and starts the other, so the key's count of running steps is the same before and after it,
 * whoever counts); or, after HAND_ON_MS, released to claims, which count it free (ClaimFilter.finishedHere).
 */
export class SlotHandOn {
  /** Step id to its activity, key and when its body finished. */
  private readonly slots = new Map<string, { name: string; key: string; at: number }>();
  private timer: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    /** Asks for a claim round once a slot may be released. */
    private readonly releasable: () => void,
  ) {}

  /** A keyed step's body finished here and its run holds the result. */
  freed(step: StepRecord): void {
    this.slots.set(step.id, { name: step.name, key: step.concurrencyKey!, at: this.clock.now() });
    if (this.timer) return;
    // A round once the slot may be released, in case no other event asks for one by then.
    this.timer = this.clock.setTimer(HAND_ON_MS, () => {
      this.timer = undefined;
      if (this.slots.size > 0) this.releasable();
    });
    this.timer.unref?.();
  }

  /** Takes the slot of a step among `completions` (written with the new step) of this activity and key, if still here. */
  take(name: string, key: string, completions: readonly LocalCompletion[]): boolean {
    for (const completion of completions) {
      const slot = this.slots.get(completion.fence.stepId);
      if (slot && slot.name === name && slot.key === key) {
        this.slots.delete(completion.fence.stepId);
        return true;
      }
    }
    return false;
  }

  /** Takes the slot of step `stepId` if still here (its write hands it off instead: see LocalDispatch.reserveHandOff). */
  takeSlot(stepId: string): { name: string; key: string } | undefined {
    const slot = this.slots.get(stepId);
    if (!slot) return undefined;
    this.slots.delete(stepId);
    return slot;
  }

  /**
   * Results of these steps were written: a slot of theirs still here was neither handed on nor off (its row
   * no longer runs, so it is free to every claim now): forgotten, and a claim round asked for.
   */
  written(stepIds: readonly string[]): void {
    let freed = false;
    for (const id of stepIds) freed = this.slots.delete(id) || freed;
    if (freed) this.releasable();
  }

  /** Before a claim of steps: slots held HAND_ON_MS or longer go to `released` (step id to when it finished). */
  release(released: Map<string, number>): void {
    const due = this.clock.now() - HAND_ON_MS;
    for (const [id, slot] of this.slots) {
      if (slot.at > due) continue;
      released.set(id, slot.at);
      this.slots.delete(id);
    }
  }

  clear(): void {
    this.slots.clear();
    this.stop();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
