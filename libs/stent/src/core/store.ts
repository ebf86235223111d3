import type { ExecutionState } from './result.js';
import type { RetryPolicy } from './retry-policy.js';

/**
 * What the engine needs from a database. The persistence layer implements it per dialect;
 * the engine never sees SQL. Times are epoch milliseconds (UTC).
 */
export interface ExecutionRecord {
  id: string;
  workflowName: string;
  state: ExecutionState;
  args: string;
  result: string | null;
  error: string | null;
  queue: string;
  priority: number;
  tags: string[];
  parentId: string | null;
  parentPosition: number | null;
  idempotencyKey: string | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  deadlineAt: number | null;
  maxDurationMs: number | null;
  wakeAt: number | null;
  leaseOwner: string | null;
  leaseEpoch: number;
  leaseExpiresAt: number | null;
  recoveries: number;
  progress: string | null;
  counters: string | null;
  customState: string | null;
  /**
   * Set when a failed execution was revived to retry the step at this position; the steps it had recorded
   * after it saw that failure are tentative (StepRecord.tentative) until that step's new outcome arrives.
   */
  revivePosition: number | null;
}

export type StepKind = 'activity' | 'sleep' | 'signal' | 'child' | 'value';
export type StepState = 'pending' | 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled';

/** A durable call as the workflow makes it: what a new step and a recorded one both carry. */
export interface StepCall {
  id: string;
  executionId: string;
  position: number;
  kind: StepKind;
  name: string;
  args: string | null;
  state: StepState;
  retryPolicy: RetryPolicy | null;
  timeoutMs: number | null;
  queue: string;
  priority: number;
  tags: string[];
  maxConcurrent: number | null;
  availableAt: number;
  fireAt: number | null;
  createdAt: number;
  /** The workflow's turn when it made this call. */
  callTurn: number;
}

export interface StepRecord extends StepCall {
  result: string | null;
  error: string | null;
  attempts: number;
  leaseOwner: string | null;
  leaseEpoch: number;
  leaseExpiresAt: number | null;
  recoveries: number;
  startedAt: number | null;
  finishedAt: number | null;
  childExecutionId: string | null;
  /** When the workflow was handed this step's outcome, if that order was recorded (see DeliveryRecord). */
  deliveredTurn: number | null;
  deliveredSeq: number | null;
  /** Recorded after the workflow saw the failure a revive retries: reused only if the replay repeats it. */
  tentative: boolean;
}

/**
 * A workflow sees the outcomes of its durable calls in turns: each turn hands over a batch of outcomes,
 * then lets the workflow run until it waits again. Where that order could matter on replay (several calls
 * outstanding, or a failure), the step records the turn and its place in the order.
 */
export interface DeliveryRecord {
  position: number;
  turn: number;
  seq: number;
}

/** Proof that a worker still owns what it writes for. Writes with a stale fence change nothing. */
export interface ExecutionFence {
  executionId: string;
  owner: string;
  epoch: number;
}

export interface StepFence {
  stepId: string;
  owner: string;
  epoch: number;
}

export interface NewExecution {
  id: string;
  workflowName: string;
  args: string;
  queue: string;
  priority: number;
  tags: string[];
  parentId: string | null;
  parentPosition: number | null;
  idempotencyKey: string | null;
  createdAt: number;
  wakeAt: number;
  deadlineAt: number | null;
  maxDurationMs: number | null;
  /** Insert already claimed by this owner (the dispatching process runs it at once). */
  claimedBy?: { owner: string; leaseExpiresAt: number };
}

export interface NewStep extends StepCall {
  result?: string | null;
  error?: string | null;
  childExecutionId?: string | null;
  /** A child execution created in the same transaction (kind 'child'). */
  child?: NewExecution;
  /** Changes to the execution applied in the same transaction (replay-safe progress, counters, state). */
  effect?: StepEffect;
  /** Insert already claimed by this owner (the inserting worker runs it at once). */
  claimedBy?: { owner: string; leaseExpiresAt: number };
}

/** Progress and state values are encoded like every durable value (serialization's encode). */
export type StepEffect =
  | { kind: 'progress'; value: string }
  | { kind: 'counter'; name: string; by: number }
  | { kind: 'state'; key: string; value: string };

export type StepOutcome =
  | { kind: 'completed'; result: string; cache?: { key: string; expiresAt: number | null } }
  | { kind: 'retry'; error: string; availableAt: number }
  | { kind: 'failed'; error: string; deadLetterReason: string };

export interface StepCompletion {
  fence: StepFence;
  executionId: string;
  outcome: StepOutcome;
  finishedAt: number;
  /** Set the execution's wake-up time so whoever owns (or next claims) it sees the change. */
  wakeExecution: boolean;
}

/**
 * A successful attempt of an activity whose workflow runs in the same worker: the workflow already has the
 * result, and the record is written together with the workflow's next journal write (one commit for both).
 */
export interface LocalCompletion {
  fence: StepFence;
  result: string;
  finishedAt: number;
}

export interface FinishOptions {
  /** False when the caller knows the execution has no parent (lets the store skip the parent update). */
  hasParent?: boolean;
  /** True when the workflow left durable calls unfinished (they are cancelled with the execution). */
  leftovers?: boolean;
  deliveries?: DeliveryRecord[];
  /** Results the workflow already used, recorded in the same transaction (all must still be owned). */
  completions?: LocalCompletion[];
  /** Tentative steps (of a revived execution) the workflow did not repeat: dropped with the ending. */
  discard?: number[];
}

export interface ExecutionFilter {
  state?: ExecutionState | ExecutionState[];
  workflowName?: string;
  parentId?: string;
  queue?: string;
  tag?: string;
  createdAfter?: number;
  createdBefore?: number;
}

export interface Page {
  limit?: number;
  offset?: number;
}

export interface ClaimFilter {
  owner: string;
  names: string[];
  queues: string[];
  /** When non-empty, only tasks carrying at least one of these tags. */
  tags: string[];
  limit: number;
  now: number;
  leaseMs: number;
  /** Names with a cluster-wide concurrency cap. */
  limits: Map<string, number>;
  /** Claim (at most one) step that was running when a worker died, to run it alone. */
  suspect?: boolean;
}

export interface ReapResult {
  steps: number;
  executions: number;
  deadLettered: number;
}

export interface DeadLetterRecord {
  id: string;
  stepId: string | null;
  executionId: string;
  kind: string;
  name: string;
  args: string | null;
  error: string | null;
  attempts: number;
  reason: string;
  createdAt: number;
}

export interface WorkerRecord {
  id: string;
  hostname: string;
  pid: number;
  queues: string[];
  state: string;
  startedAt: number;
  heartbeatAt: number;
}

/** Counts across the whole database (every process), for dashboards and health checks. */
export interface StoreStats {
  executions: Record<ExecutionState, number>;
  /** Activity steps: due and waiting for a worker, scheduled for later (retry back-off), running now. */
  activities: { due: number; scheduled: number; running: number };
  deadLetters: number;
  /** When the oldest work that is due but not yet taken became due (activity steps and executions). */
  oldestDueAt: number | null;
  workers: WorkerRecord[];
}

/** An opaque transaction handle from the application (e.g. a TypeORM EntityManager). */
export type ExternalTransaction = unknown;

/** Something happened that a worker or a waiter may care about. */
export type WakeEvent =
  | { type: 'work' }
  /** A worker started on this database (the others re-count their peers). */
  | { type: 'joined' }
  | { type: 'woken'; executionId: string }
  | { type: 'finished'; executionId: string };

export interface StentStore {
  readonly dialect: string;
  /**
   * Hears wake events from this process and, where the database can carry them, from others.
   * Stores publish on their own after the writes that cause them; listeners must also poll.
   */
  subscribe(listener: (event: WakeEvent) => void): () => void;
  /** Create or upgrade the schema. Safe to call from several processes at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  ping(): Promise<void>;
  now(): number;

  /**
   * Inserts the execution; with an idempotency key already taken, returns the existing id and created=false.
   * With `claimedBy`, it is inserted claimed (claimed=true) unless older work of at least its priority waits
   * on its queue, which goes first.
   */
  createExecution(execution: NewExecution, transaction?: ExternalTransaction): Promise<{ id: string; created: boolean; claimed: boolean }>;
  getExecution(id: string): Promise<ExecutionRecord | null>;
  listExecutions(filter: ExecutionFilter, page: Page): Promise<{ items: ExecutionRecord[]; total: number }>;
  loadJournal(executionId: string): Promise<StepRecord[]>;
  loadSteps(executionId: string, positions: number[]): Promise<StepRecord[]>;

  claimExecutions(filter: ClaimFilter): Promise<ExecutionRecord[]>;
  claimSteps(filter: ClaimFilter): Promise<StepRecord[]>;
  /** Whether steps recovered from a dead worker wait to be run alone. */
  hasSuspects(filter: ClaimFilter): Promise<boolean>;
  /** Executions this owner holds whose wake time has come (something changed for them). */
  takeWokenExecutions(owner: string, now: number): Promise<Array<{ id: string; epoch: number }>>;

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
  /** Fails an execution for good and records it in the dead-letter list (non-determinism, poison). */
  failExecutionDeadLettered(fence: ExecutionFence, error: string, reason: string, now: number, deliveries?: DeliveryRecord[]): Promise<boolean>;

  /**
   * Renews the leases this owner still holds (`held`: executions in memory, steps running); leases on
   * anything else it owns lapse. Returns ids of running steps whose execution has ended meanwhile (to abort).
   */
  renewLeases(owner: string, now: number, leaseMs: number, held: { executions: string[]; steps: string[] }): Promise<string[]>;
  releaseLeases(owner: string, now: number): Promise<void>;
  reapExpiredLeases(now: number, maxRecoveries: number): Promise<ReapResult>;
  /** Upserts the worker's row; `joined` (its first record) also tells the other workers it exists. */
  recordWorker(owner: string, info: { hostname: string; pid: number; queues: string[]; startedAt: number; now: number; state: string; joined?: boolean }): Promise<void>;
  /** Other workers still running whose heartbeat is no older than `since`. */
  countPeers(owner: string, since: number): Promise<number>;

  /** Stores a signal for an active execution and wakes it. Throws ExecutionNotFoundError / ExecutionFinishedError. */
  sendSignal(executionId: string, name: string, payload: string, now: number): Promise<void>;
  /**
   * Consumes the oldest unconsumed signal `name` for the step at `position`, completing that step in
   * the same transaction. With `timedOut`, a step that finds none is failed with `timeoutError` instead.
   */
  consumeSignal(fence: ExecutionFence, position: number, name: string, now: number, timeoutError: string | null): Promise<{ kind: 'received'; payload: string } | { kind: 'timed_out' } | { kind: 'none' } | { kind: 'lost' }>;
  /** Cancels an execution and its descendants; no-op (changed=false) if it is already final. */
  cancelExecution(executionId: string, error: string, now: number): Promise<{ changed: boolean; state: string; cancelled: string[] }>;
  lookupCache(key: string, now: number): Promise<string | null>;
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
  /** Wakes a failed execution to replay from its journal, restoring what its failure cancelled. */
  reviveExecution(executionId: string, now: number): Promise<void>;

  listDeadLetters(page: Page): Promise<{ items: DeadLetterRecord[]; total: number }>;
  stats(now: number): Promise<StoreStats>;
}
