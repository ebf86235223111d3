import type { ForkRequest } from './history-records.js';
import type { ExecutionRecord, ExternalTransaction, NewExecution, StreamEntryRecord } from './records.js';
import type { WakeEvent } from './wake-event.js';

/**
 * What the executor's operations need from the database: the schema, dispatch, signals, cancel, and
 * bringing failed executions back.
 */
export interface ControlStore {
  readonly dialect: string;
  /** See HotPathStore.subscribe (waitFor listens too). */
  subscribe(listener: (event: WakeEvent) => void): () => void;
  /** Create or upgrade the schema. Safe to call from several processes at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  ping(): Promise<void>;
  /**
   * Why the store's connection is not open yet, while it is being made (the last attempt's error), or
   * undefined. Optional: a store connected before it was built has nothing to say.
   */
  connectionProblem?(): unknown;
  now(): number;

  /**
   * Inserts the execution; with an idempotency key already taken, returns the existing id and created=false.
   * With `claimedBy`, it is inserted claimed (claimed=true) unless older work of at least its priority waits
   * on its queue, which goes first.
   */
  createExecution(execution: NewExecution, transaction?: ExternalTransaction): Promise<{ id: string; created: boolean; claimed: boolean }>;
  getExecution(id: string): Promise<ExecutionRecord | null>;
  /** Which of `ids` are executions in a final state (one read for many waits: see OutsideChanges). */
  finalAmong(ids: string[]): Promise<string[]>;
  /** Stores a signal for an active execution and wakes it. Throws ExecutionNotFoundError / ExecutionFinishedError. */
  sendSignal(executionId: string, name: string, payload: string, now: number): Promise<void>;
  /** Cancels an execution and its descendants; no-op (changed=false) if it is already final. */
  cancelExecution(executionId: string, error: string, now: number): Promise<{ changed: boolean; state: string; cancelled: string[] }>;
  /**
   * Revives a failed execution from a dead-lettered task (see retryFrom). Throws DeadLetterNotFoundError /
   * ExecutionFinishedError (only failed executions).
   */
  replayDeadLetter(deadLetterId: string, now: number): Promise<{ executionId: string }>;
  discardDeadLetter(deadLetterId: string): Promise<void>;
  /**
   * Revives failed execution `executionId` to retry the activity step at `failedAt` (in it, or in one of its
   * child executions, which are revived along the way): that step waits for a worker again, the steps
   * recorded after the workflow saw the failure become tentative, what the failure cancelled is restored,
   * and the execution is woken to replay. False if `failedAt` is not a failed step below it.
   */
  retryFrom(executionId: string, failedAt: { executionId: string; position: number }, now: number): Promise<boolean>;
  /**
   * Inserts a new execution whose journal is a copy of the source's before `fromPosition` (children started
   * there are shared, not copied), due at once. Throws ExecutionNotFoundError / HistoryPositionError.
   */
  forkExecution(request: ForkRequest): Promise<void>;
  /**
   * Cuts a finished execution's journal before `fromPosition` (as if the steps after had never been
   * recorded) and makes it due again. Throws ExecutionNotFoundError / ExecutionNotFinishedError /
   * HistoryPositionError.
   */
  rewindExecution(executionId: string, fromPosition: number, now: number): Promise<void>;
  /** Wakes a failed execution to replay from its journal, restoring what its failure cancelled. */
  reviveExecution(executionId: string, now: number): Promise<void>;

  /** The value (encoded) an execution set for event `key`, or null while it has not set it. */
  getEvent(executionId: string, key: string): Promise<string | null>;
  /** Entries of stream `key` of an execution from `fromSeq` on, in order, at most `limit`. */
  readStream(executionId: string, key: string, fromSeq: number, limit: number): Promise<StreamEntryRecord[]>;
}
