/**
 * What a work announcement is about: executions to claim (dispatched, woken, released); activity steps
 * waiting for a claim; or `flow`: only steps with flow keys (per-key concurrency, a rate limit), which
 * only the claims by activity and key take. A worker told of one kind looks for that kind only at its next
 * claim round.
 */
export type WorkKind = 'executions' | 'steps' | 'flow';

/** Something happened that a worker or a waiter may care about. */
export type WakeEvent =
  /** Something to claim: executions, activity steps, steps with flow keys, or (without `of`) any. */
  | { type: 'work'; of?: WorkKind }
  /** A worker started on this database (the others re-count their peers). */
  | { type: 'joined' }
  | { type: 'woken'; executionId: string }
  | { type: 'finished'; executionId: string }
  /** An execution set an event or wrote to (or closed) a stream: readers look again. */
  | { type: 'published'; executionId: string };

/**
 * The announcement new steps call for: none without a pending activity step among them; `flow` when
 * every such step has a flow key; else `steps`. Told `flow`, the other workers spare the claim of plain
 * steps, which would find none of these. `elsewhere`: what other processes are told, leaving out the steps
 * their writer looks for itself (NewStep.lookedForHere).
 */
export function stepsWorkKind(steps: ReadonlyArray<AnnouncedStep>, elsewhere = false): WorkKind | undefined {
  let kind: WorkKind | undefined;
  for (const step of steps) {
    if (step.kind !== 'activity' || step.state !== 'pending' || (elsewhere && step.lookedForHere)) continue;
    if (step.concurrencyKey == null && step.rateKey == null) return 'steps';
    kind = 'flow';
  }
  return kind;
}

/** What stepsWorkKind reads of a new step. */
interface AnnouncedStep {
  kind: string;
  state: string;
  concurrencyKey?: string | null;
  rateKey?: string | null;
  lookedForHere?: boolean;
}
