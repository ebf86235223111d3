import type { Clock } from '../clock/clock.js';
import type { StentEvents } from '../events.js';
import type { StentLogger } from '../logger.js';
import type { HotPathStore, LocalCompletion, NewStep, SlotHandOff, StepCompletion, StepRecord } from '../store/index.js';
import type { WorkflowRun } from './workflow-run.js';
import type { ExecutionState } from '../api/result.js';

export type RunEnd =
  /** `deadLettered`: why it was also put in the dead-letter queue (non-determinism). */
  | { kind: 'finished'; state: ExecutionState; result: string | null; error: string | null; deadLettered?: string }
  | { kind: 'suspended'; wakeAt: number | null; resumable: boolean }
  | { kind: 'abandoned'; reason: string };

/** What a workflow run needs from the worker that holds it. */
export interface RunHost {
  readonly ownerId: string;
  readonly store: HotPathStore;
  readonly clock: Clock;
  readonly logger: StentLogger;
  readonly events: StentEvents;
  /** A run waiting this long without progress is suspended. */
  readonly suspendAfterMs: number;
  /** The worker is draining: a run that waits suspends at once instead of after suspendAfterMs. */
  readonly draining: boolean;
  /** Timers further away than this are left to the database (the run suspends first). */
  readonly timerHorizonMs: number;
  /** Journal steps past which a run warns, and at which it fails (JournalLimitError). */
  readonly journalWarnAt: number;
  readonly journalLimit: number;
  /**
   * Marks the activity steps of a batch that this worker will run itself, claiming them at insert; a keyed
   * step may take the slot of a step of its key whose result goes in the same write (`completions`).
   */
  reserveLocal(batch: NewStep[], completions: readonly LocalCompletion[]): NewStep[];
  /** Whether this worker could run the activity step itself (registered, its queue and tags, no cluster cap). */
  couldRunHere(step: NewStep): boolean;
  cancelReservations(steps: NewStep[]): void;
  /** Slots of keyed steps among results written on their own that their write hands off (LocalDispatch.reserveHandOff). */
  reserveHandOff(completions: readonly LocalCompletion[]): SlotHandOff | undefined;
  /** The write of a hand-off is done: the steps it started run here. */
  handedOff(handOff: SlotHandOff, started: StepRecord[]): void;
  /** Results a run held were written (their keyed slots, if not handed on or off, are free to claims now). */
  completionsWritten(completions: readonly LocalCompletion[]): void;
  startReserved(run: WorkflowRun, steps: NewStep[]): void;
  /** New steps were recorded that some worker should claim. */
  announceWork(): void;
  /** Results handed to a run that ended before writing them: recorded the ordinary way. */
  recordCompletions(completions: StepCompletion[]): void;
  runEnded(run: WorkflowRun, end: RunEnd): void;
  /** A run started before its execution was inserted (see ExecutionBirth): the execution is in, claimed by it. */
  runBorn(run: WorkflowRun): void;
  /** Results of attempts run here that will never be recorded (their lease was lost): each is logged. */
  resultsDropped(executionId: string, stepIds: string[], why: string): void;
}
