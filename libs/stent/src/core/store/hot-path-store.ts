import type {
  ClaimFilter,
  DeliveryRecord,
  ExecutionFence,
  ExecutionRecord,
  FinishOptions,
  LocalCompletion,
  NewExecution,
  NewStep,
  ReapResult,
  RenewResult,
  SignalTake,
  SlotHandOff,
  StepCompletion,
  StepRecord,
  WorkerInfo,
} from './records.js';
import type { WakeEvent } from './wake-event.js';
import type { OtherVersionRecord } from './history-records.js';

/**
 * What a worker needs from the database on the hot path: claims under a lease, journal writes fenced by
 * it, endings, leases and signals. Every write for something claimed names the fence (owner, epoch) the
 * caller holds; a write with a stale fence changes nothing and says so.
 */
export interface HotPathStore {
  /**
   * Hears wake events from this process and, where the database can carry them, from others.
   * Stores publish on their own after the writes that cause them; listeners must also poll.
   */
  subscribe(listener: (event: WakeEvent) => void): () => void;
  getExecution(id: string): Promise<ExecutionRecord | null>;
  loadJournal(executionId: string): Promise<StepRecord[]>;
  loadSteps(executionId: string, positions: number[]): Promise<StepRecord[]>;
  /** The rows at the given positions of several executions (one read for many runs' waits). */
  loadStepsOf(requests: Array<{ executionId: string; positions: number[] }>): Promise<StepRecord[]>;

  claimExecutions(filter: ClaimFilter): Promise<ExecutionRecord[]>;
  claimSteps(filter: ClaimFilter): Promise<StepRecord[]>;
  /**
   * The filter's keyed-only activities (per-key concurrency alone, see ClaimFilter.keyedOpen) that a claim
   * may find a step of now: a key with pending steps and room, or a pending step without a key.
   */
  keyedRoom(filter: ClaimFilter): Promise<string[]>;
  /** Whether steps recovered from a dead worker wait to be run alone. */
  hasSuspects(filter: ClaimFilter): Promise<boolean>;
  /** Due executions of the filter's versioned workflows that it cannot replay (left to other workers). */
  otherVersionsDue(filter: ClaimFilter): Promise<OtherVersionRecord[]>;
  /** Executions this owner holds whose wake time has come (something changed for them). */
  takeWokenExecutions(owner: string, now: number): Promise<Array<{ id: string; epoch: number }>>;

  /**
   * A dispatch this worker runs: the execution inserted claimed by it (unless work waits before it on its
   * queue, or its queue or workflow type is paused: then pending, for claims) together with the first
   * steps its run recorded, in one commit; the steps go in only if the execution went in claimed. Plain
   * steps only (no child, no effect). With no steps, createExecution.
   */
  createExecutionWithSteps(execution: NewExecution, steps: NewStep[]): Promise<{ id: string; created: boolean; claimed: boolean }>;
  /**
   * Appends journal steps for an execution the caller owns, recording `deliveries` (the order the workflow
   * saw earlier steps settle) and `completions` (results it already used) in the same transaction. False if
   * the fence is stale or a completion's step is no longer owned (then no step is inserted).
   */
  insertSteps(fence: ExecutionFence, steps: NewStep[], deliveries?: DeliveryRecord[], completions?: LocalCompletion[]): Promise<boolean>;
  /**
   * Drops tentative steps of a revived execution that its replay did not repeat: child executions they
   * started are deleted, signals they consumed handed back, and counters, progress and state recomputed.
   * With `reviveSettled`, the retried step's new outcome has arrived: no step is tentative any more.
   */
  discardSteps(fence: ExecutionFence, positions: number[], reviveSettled?: boolean): Promise<boolean>;
  /** Marks tentative steps the replay repeated as part of the journal again. */
  confirmSteps(fence: ExecutionFence, positions: number[]): Promise<boolean>;
  /** Gives up an owned execution (its run was dropped here): another worker may claim it at once. */
  releaseExecution(fence: ExecutionFence, now: number): Promise<void>;
  /** Records a finished waiting step (a timer that fired, a value) for an owned execution. */
  resolveStep(fence: ExecutionFence, position: number, state: 'completed' | 'failed', result: string | null, error: string | null, now: number): Promise<boolean>;
  /** Records activity attempt outcomes; returns, per completion, whether the fence still held. */
  completeSteps(completions: StepCompletion[]): Promise<boolean[]>;
  /**
   * completeSteps, and in the same transaction the slots `handOff` names go to the next pending steps of
   * their keys (see SlotHandOff); returns whether each fence held and the steps started for the owner.
   */
  completeHandingOff(completions: StepCompletion[], handOff: SlotHandOff): Promise<{ owned: boolean[]; started: StepRecord[] }>;

  /** Releases an owned execution that is waiting; wakes it at `wakeAt` or at once if an awaited step already finished. */
  suspendExecution(
    fence: ExecutionFence,
    wakeAt: number | null,
    awaitedPositions: number[],
    awaitedSignals: string[],
    now: number,
    deliveries?: DeliveryRecord[],
  ): Promise<boolean>;
  /**
   * Ends an owned execution. Whatever it started and left unfinished (pending or waiting steps, child
   * executions still running) is cancelled; the parent, if any, is handed the outcome.
   */
  finishExecution(fence: ExecutionFence, state: 'completed' | 'failed' | 'timed_out', result: string | null, error: string | null, now: number, options?: FinishOptions): Promise<boolean>;
  /**
   * finishExecution, and in the same write the slots `handOff` names of keyed steps among the results it
   * records go to the next pending steps of their keys (see SlotHandOff); returns the steps started for the owner.
   */
  finishHandingOff(
    fence: ExecutionFence,
    state: 'completed' | 'failed' | 'timed_out',
    result: string | null,
    error: string | null,
    now: number,
    options: FinishOptions,
    handOff: SlotHandOff,
  ): Promise<{ ok: boolean; started: StepRecord[] }>;
  /** Fails an execution for good and records it in the dead-letter list (non-determinism, poison). */
  failExecutionDeadLettered(fence: ExecutionFence, error: string, reason: string, now: number, deliveries?: DeliveryRecord[]): Promise<boolean>;

  /**
   * Renews the leases this owner still holds (`held`: executions in memory, steps running); leases on
   * anything else it owns lapse. Reports what it renewed, what it no longer owns, and running steps whose
   * execution has ended meanwhile (to abort). A row being written right now may be in neither list.
   */
  renewLeases(owner: string, now: number, leaseMs: number, held: { executions: string[]; steps: string[] }): Promise<RenewResult>;
  releaseLeases(owner: string, now: number): Promise<void>;
  /**
   * Makes every lease `owner` holds run out now, as if its process had died a lease ago: how the testing
   * harness simulates a crash where the database judges leases by its own clock.
   */
  forfeitLeases?(owner: string): Promise<void>;
  reapExpiredLeases(now: number, maxRecoveries: number): Promise<ReapResult>;
  /** Upserts the worker's row; `joined` (its first record) also tells the other workers it exists. */
  recordWorker(owner: string, info: WorkerInfo): Promise<void>;
  /** Other workers still running whose heartbeat is no older than `since`. */
  countPeers(owner: string, since: number): Promise<number>;
  /**
   * Where no wake event crosses processes (SQLite): a number that changes when another connection commits
   * to the database, and never for this store's own commits; two readings that differ mean another
   * process wrote between them. Cheap enough to read every few milliseconds (see ChangeProbe). Absent
   * where other processes' writes are announced.
   */
  writesElsewhere?(): Promise<number>;

  /**
   * Consumes the oldest unconsumed signal `name` for the step at `position`, completing that step in
   * the same transaction. With `timeoutError`, a step that finds none is failed with it instead.
   */
  consumeSignal(fence: ExecutionFence, position: number, name: string, now: number, timeoutError: string | null): Promise<SignalTake>;
  lookupCache(key: string, now: number): Promise<string | null>;
}
