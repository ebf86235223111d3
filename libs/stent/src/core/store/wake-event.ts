/**
 * What a work announcement is about: executions to claim (dispatched, woken, released), or activity steps
 * waiting for a claim. A worker told of one kind looks for that kind only at its next claim round.
 */
export type WorkKind = 'executions' | 'steps';

/** Something happened that a worker or a waiter may care about. */
export type WakeEvent =
  /** Something to claim: executions, activity steps, or (without `of`) either. */
  | { type: 'work'; of?: WorkKind }
  /** A worker started on this database (the others re-count their peers). */
  | { type: 'joined' }
  | { type: 'woken'; executionId: string }
  | { type: 'finished'; executionId: string }
  /** An execution set an event or wrote to (or closed) a stream: readers look again. */
  | { type: 'published'; executionId: string };
