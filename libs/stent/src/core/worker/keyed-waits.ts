import type { NewStep } from '../store/index.js';

/** Most waiting steps remembered for one activity and key, and in all: enough to fill every slot freed here. */
const PER_KEY = 16;
const TOTAL = 4096;

/**
 * Keyed steps (per-key concurrency alone) that runs held here recorded pending, waiting for a claim to give
 * them a slot of their key. A slot freed by a run's ending can go straight to one of them, in the ending's
 * own write (see LocalDispatch.handOver), instead of through a claim round, possibly of another process.
 * What is remembered may be out of date (a claim took the step, its run went away): the write takes a step
 * only if it is still pending and never claimed, so a stale entry costs a hand-over, never a slot.
 */
export class KeyedWaits {
  /** Step id to its step and activity-and-key. */
  private readonly steps = new Map<string, { step: NewStep; slot: string }>();
  /** Activity-and-key to the ids of its waiting steps, oldest first. */
  private readonly bySlot = new Map<string, Set<string>>();
  /** Execution id to the ids of its waiting steps. */
  private readonly byExecution = new Map<string, Set<string>>();

  /** A keyed step was recorded pending by a run held here. */
  add(step: NewStep): void {
    if (this.steps.size >= TOTAL) return;
    const slot = slotOf(step.name, step.concurrencyKey!);
    const ids = this.bySlot.get(slot) ?? new Set<string>();
    if (ids.size >= PER_KEY) return;
    ids.add(step.id);
    this.bySlot.set(slot, ids);
    this.steps.set(step.id, { step, slot });
    const mine = this.byExecution.get(step.executionId);
    if (mine) mine.add(step.id);
    else this.byExecution.set(step.executionId, new Set([step.id]));
  }

  /**
   * Takes the waiting step of `name` and `key` to hand a slot to: due by `now`, of a run `held` here and
   * `eligible`; the highest priority first, then the oldest. Entries of runs no longer held are dropped.
   */
  take(name: string, key: string, now: number, held: (executionId: string) => boolean, eligible: (step: NewStep) => boolean): NewStep | undefined {
    const ids = this.bySlot.get(slotOf(name, key));
    if (!ids) return undefined;
    let best: NewStep | undefined;
    for (const id of ids) {
      const step = this.steps.get(id)!.step;
      if (!held(step.executionId)) {
        this.delete(id);
        continue;
      }
      if (step.availableAt > now || !eligible(step)) continue;
      if (!best || step.priority > best.priority || (step.priority === best.priority && step.availableAt < best.availableAt)) best = step;
    }
    if (best) this.delete(best.id);
    return best;
  }

  /** The step was claimed (or ended): it waits no more. */
  delete(stepId: string): void {
    const entry = this.steps.get(stepId);
    if (!entry) return;
    this.steps.delete(stepId);
    const ids = this.bySlot.get(entry.slot)!;
    ids.delete(stepId);
    if (ids.size === 0) this.bySlot.delete(entry.slot);
    const mine = this.byExecution.get(entry.step.executionId);
    mine?.delete(stepId);
    if (mine?.size === 0) this.byExecution.delete(entry.step.executionId);
  }

  /** The run left this worker (ended, suspended, abandoned): its steps are no longer waited on here. */
  forgetExecution(executionId: string): void {
    const mine = this.byExecution.get(executionId);
    if (!mine) return;
    for (const id of [...mine]) this.delete(id);
  }

  clear(): void {
    this.steps.clear();
    this.bySlot.clear();
    this.byExecution.clear();
  }
}

function slotOf(name: string, key: string): string {
  return `${name}\u0000${key}`;
}
