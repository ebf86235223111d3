import type { ExecutionState } from '../api/result.js';
import type { RetryPolicy } from '../definitions/retry-policy.js';

/** The records the engine and its store exchange. Times are epoch milliseconds (UTC). */
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
  /** W3C trace context (JSON of traceparent/tracestate) the execution was dispatched in, if traced. */
  traceContext: string | null;
  customState: string | null;
  /**
   * Set when a failed execution was revived to retry the step at this position; the steps it had recorded
   * after it saw that failure are tentative (StepRecord.tentative) until that step's new outcome arrives.
   */
  revivePosition: number | null;
  /** The workflow version that started it (see WorkflowOptions.version); null until a versioned worker starts it. */
  workflowVersion: number | null;
  /** The execution whose Stent.continueAsNew started this one. */
  continuedFrom: string | null;
  /** The execution this one continued as (it ended with Stent.continueAsNew). */
  continuedAs: string | null;
  /** The execution whose journal this one reused before position `forkedAt` (fork; itself for a rewind). */
  forkedFrom: string | null;
  forkedAt: number | null;
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
  /** The call's concurrency key (activities with `concurrency`). */
  concurrencyKey?: string | null;
  /** The call's rate-limit key ('' for an activity-wide window; activities with `rateLimit`). */
  rateKey?: string | null;
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
  /** W3C trace context to keep with the execution (see ExecutionRecord.traceContext). */
  traceContext?: string | null;
  /** The version of the code that starts it, when it is inserted already claimed (see ExecutionRecord). */
  workflowVersion?: number | null;
  continuedFrom?: string | null;
  /**
   * Its keys under the workflow's flow limits (WorkflowOptions.concurrency, rateLimit), computed from the
   * arguments by whoever creates it. Left out (a dispatch by name from a process without the workflow's
   * class), the execution counts under the key '' of each limit.
   */
  concurrencyKey?: string | null;
  rateKey?: string | null;
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
  /**
   * A pending keyed step the inserting worker looks for itself (it serves the activity and has a slot
   * free): announced to that worker alone, not to other processes (see stepsWorkKind).
   */
  lookedForHere?: boolean;
}

/** Progress and state values are encoded like every durable value (serialization's encode). */
export type StepEffect =
  | { kind: 'progress'; value: string }
  | { kind: 'counter'; name: string; by: number }
  | { kind: 'state'; key: string; value: string }
  /** Stent.setEvent: the event's value (encoded), kept per key; a later set replaces it. */
  | { kind: 'event'; key: string; value: string }
  /** Stent.writeStream (chunk encoded) or Stent.closeStream (chunk null): entry `seq` of the stream `key`. */
  | { kind: 'stream'; key: string; seq: number; chunk: string | null };

/** An entry of a stream as stored: a chunk (encoded), or the stream's end (closed, no chunk). */
export interface StreamEntryRecord {
  seq: number;
  chunk: string | null;
  closed: boolean;
}

export type StepOutcome =
  | { kind: 'completed'; result: string; cache?: { key: string; expiresAt: number | null } }
  | { kind: 'retry'; error: string; availableAt: number }
  /** A RateLimitedError: pending again at `availableAt` without using an attempt (and its key parked as long). */
  | { kind: 'parked'; error: string; availableAt: number; name: string; flowKey: string | null }
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
 * Slots of keyed steps (per-key concurrency alone) that a write recording their results hands off: for each
 * slot whose step's result the write records, the same write starts the next due pending step of that
 * activity and key (the highest priority, then with `preferHeld` one of an execution the writer holds, then
 * the oldest), leased to `filter.owner`. The key's count of running steps is the same before and after.
 */
export interface SlotHandOff {
  filter: Pick<ClaimFilter, 'owner' | 'queues' | 'tags' | 'now' | 'leaseMs' | 'preferHeld'>;
  slots: Array<{ stepId: string; name: string; key: string }>;
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
  /**
   * The execution ended with Stent.continueAsNew: this one is inserted in the same transaction (it takes
   * over the parent, if any, which is told only when the last of the chain ends).
   */
  continueAs?: NewExecution;
  /** Its workflow has per-key concurrency: the ending frees a slot, so workers are told to look for work. */
  freesFlowSlot?: boolean;
}

/** What a claim needs to know of a flow-limited activity (the key functions stay with the caller). */
export interface FlowClaimLimits {
  /** Running attempts allowed per concurrency key, or null. */
  concurrency: number | null;
  rate: { limit: number; perMs: number } | null;
  /** The activity's maxConcurrent, applied in the same claim. */
  total: number | null;
}

/** Per-key concurrency alone: no rate limit, no maxConcurrent. Such an activity is claimed only once a read finds a key with room (HotPathStore.keyedRoom). */
export function keyedOnly(limits: FlowClaimLimits): boolean {
  return limits.rate === null && limits.total === null;
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
  /** Names with per-key concurrency or a rate limit: claimed under the activity's lock, key by key. */
  flow?: Map<string, FlowClaimLimits>;
  /**
   * Flow-limited steps whose bodies finished in this worker and whose results ride on their workflow's
   * next write: still 'running' in the database, but no longer running, so this claim does not count them.
   */
  finishedHere?: string[];
  /**
   * Keyed bodies still running in this worker past their attempts' outcomes (timed out, ignoring their
   * AbortSignal): their rows no longer read running, but each still holds its key's slot, so this claim
   * counts them with the key's running steps.
   */
  runningPastOutcome?: Array<{ name: string; key: string }>;
  /**
   * Among flow-limited steps of equal rank, take first those of executions this worker holds (leased to
   * `owner`), so a result reaches its workflow in this process instead of through the database. Asked of
   * the execution's row per candidate, not sent as a list: a worker may hold a thousand runs.
   */
  preferHeld?: boolean;
  /**
   * The keyed-only activities (per-key concurrency alone) that HotPathStore.keyedRoom found with room just
   * before: the claim looks for these and no other keyed-only ones, without asking again. Absent, the claim
   * asks for each itself.
   */
  keyedOpen?: string[];
  /**
   * Also claim steps that carry a flow key although their activity is served here without flow limits:
   * recorded while it had them (a deploy then removed the limit). The ordinary claims leave every keyed
   * step to the claims by activity and key; a worker asks for these in one claim round every 5 s.
   */
  strays?: boolean;
  /** Claim (at most one) step that was running when a worker died, to run it alone. */
  suspect?: boolean;
  /**
   * Executions only: versioned workflows and the versions this worker replays. Others' executions are left
   * to other workers; one not started yet is taken and records the top of its range as its version.
   */
  versions?: Map<string, { from: number; to: number }>;
}

/** What a lease renewal did: the rows it renewed, those another worker holds now, and running steps whose execution ended. */
export interface RenewResult {
  renewed: { executions: string[]; steps: string[] };
  /** Held rows whose lease this owner no longer has (reclaimed or taken over). */
  lost: { executions: string[]; steps: string[] };
  /** Running steps of this owner whose execution has ended meanwhile (to abort). */
  ended: string[];
}

export interface ReapResult {
  steps: number;
  executions: number;
  /** Running steps failed and dead-lettered because their workers kept dying while running them. */
  poisoned: PoisonedStep[];
}

/** A step the reaper dead-lettered as a poison task, and the error it recorded (encoded). */
export interface PoisonedStep {
  executionId: string;
  stepId: string;
  position: number;
  name: string;
  attempt: number;
  error: string;
  /** Why it was dead-lettered, as the dead-letter queue records it. */
  reason: string;
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

/** A workflow's dispatch defaults, as a worker that runs it records them. */
export interface WorkflowRoute {
  queue: string;
  priority: number | null;
  tags: string[];
  maxDurationMs: number | null;
}

export interface WorkerRecord {
  id: string;
  hostname: string;
  pid: number;
  queues: string[];
  state: string;
  startedAt: number;
  heartbeatAt: number;
  /** What it serves: only tasks with one of these tags (empty: any), these workflows and activities. */
  tags: string[];
  workflows: string[];
  activities: string[];
  /** How each of its workflows is dispatched by default (so a process without the code can dispatch by name). */
  workflowRoutes: Record<string, WorkflowRoute>;
  concurrency: number | null;
  /** Its lease: a running worker silent for longer than this is presumed dead. Null for rows of older versions. */
  leaseMs: number | null;
}

/** An opaque transaction handle from the application (e.g. a TypeORM EntityManager). */
export type ExternalTransaction = unknown;

/** What taking a signal for a waiting step found: a signal, its time-out, nothing yet, or a lost lease. */
export type SignalTake = { kind: 'received'; payload: string } | { kind: 'timed_out' } | { kind: 'none' } | { kind: 'lost' };

/** What a worker records about itself. */
export interface WorkerInfo {
  hostname: string;
  pid: number;
  queues: string[];
  startedAt: number;
  now: number;
  state: string;
  /** Its first record: also tells the other workers it exists. */
  joined?: boolean;
  tags?: string[];
  workflows?: string[];
  activities?: string[];
  workflowRoutes?: Record<string, WorkflowRoute>;
  concurrency?: number;
  leaseMs?: number;
}
