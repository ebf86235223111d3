import { isFinalState, type ExecutionState, type Result } from '../api/result.js';
import { decode, decodeEntries, decodeError } from '../serialization.js';
import type { DeadLetterRecord, ExecutionRecord, StepRecord, StoreStats, WorkerRecord } from '../store/index.js';
import type { WorkerState } from '../worker/worker-settings.js';
import { finalOutcome } from './final-outcome.js';
import type { QueueLoad, Throughput } from './operations/load-view.js';
import type { UnservedWork } from './operations/unserved-work.js';
import type { Readiness } from './readiness.js';

/** An execution as the executor reports it: values decoded, times as Dates. */
export interface ExecutionInfo {
  id: string;
  workflowName: string;
  state: ExecutionState;
  args: unknown[];
  /** Present once the execution is final. */
  result?: Result<unknown, unknown>;
  /** Set by the workflow with Stent.setProgress. */
  progress: unknown;
  /** Counters incremented by the workflow with Stent.incrementCounter. */
  counters: Record<string, number>;
  /** Values set by the workflow with Stent.setState. */
  customState: Record<string, unknown>;
  queue: string;
  priority: number;
  tags: string[];
  parentId: string | null;
  idempotencyKey: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  deadlineAt: Date | null;
  wakeAt: Date | null;
  leaseOwner: string | null;
  recoveries: number;
  /** The workflow version that started it (null: unversioned, or not started yet). */
  version: number | null;
  /** The execution whose Stent.continueAsNew started this one, and the one this one continued as. */
  continuedFrom: string | null;
  continuedAs: string | null;
  /** The execution whose journal this one reused before position `forkedAt` (a fork; itself after a rewind). */
  forkedFrom: string | null;
  forkedAt: number | null;
}

/** One step of an execution's journal. */
export interface JournalEntry {
  position: number;
  kind: string;
  name: string;
  state: string;
  attempts: number;
  args: unknown;
  result?: unknown;
  error?: Error;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  fireAt: Date | null;
}

/** A task that failed for good, with its arguments and error decoded. */
export type DeadLetterInfo = Omit<DeadLetterRecord, 'args' | 'error' | 'createdAt'> & { args: unknown; error?: Error; createdAt: Date };


export interface StentStats {
  executions: Record<ExecutionState, number>;
  /** Activity steps due and not yet taken, scheduled for later (retry back-off), and running. */
  activities: { due: number; scheduled: number; running: number };
  deadLetters: number;
  /** How long the oldest due work (an activity step or an execution to start or resume) has waited. */
  backlogAgeMs: number;
  /** Every worker process that ever recorded itself, with its last heartbeat. */
  workers: Array<Omit<WorkerRecord, 'startedAt' | 'heartbeatAt'> & { startedAt: Date; heartbeatAt: Date; lastSeenMsAgo: number }>;
  /** Per queue: due work and the age of its oldest item, scheduled and running activities. */
  queues: QueueLoad[];
  /** What finished in each of the last minutes. */
  throughput: Throughput;
  /** Due work no live worker will take (its queue unserved, or its name registered by none of the queue's workers). */
  unserved: UnservedWork[];
  /** This process's worker, or null for a dispatch-only process. */
  thisWorker: {
    id: string;
    readiness: Readiness;
    state: WorkerState;
    runningActivities: number;
    activeWorkflows: number;
    concurrency: number;
    /** Due executions of versioned workflows this worker leaves to others (it cannot replay their version). */
    leftForOtherVersions: Array<{ workflowName: string; version: number; due: number }>;
  } | null;
}

const toDate = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

export function executionInfo(record: ExecutionRecord): ExecutionInfo {
  return {
    id: record.id,
    workflowName: record.workflowName,
    state: record.state,
    args: decode(record.args) as unknown[],
    result: isFinalState(record.state) ? finalOutcome(record.id, record.state, record.result, record.error) : undefined,
    progress: decode(record.progress),
    counters: record.counters === null ? {} : JSON.parse(record.counters),
    customState: decodeEntries(record.customState),
    queue: record.queue,
    priority: record.priority,
    tags: record.tags,
    parentId: record.parentId,
    idempotencyKey: record.idempotencyKey,
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
    startedAt: toDate(record.startedAt),
    finishedAt: toDate(record.finishedAt),
    deadlineAt: toDate(record.deadlineAt),
    wakeAt: toDate(record.wakeAt),
    leaseOwner: record.leaseOwner,
    recoveries: record.recoveries,
    version: record.workflowVersion,
    continuedFrom: record.continuedFrom,
    continuedAs: record.continuedAs,
    forkedFrom: record.forkedFrom,
    forkedAt: record.forkedAt,
  };
}

export function journalEntry(step: StepRecord): JournalEntry {
  return {
    position: step.position,
    kind: step.kind,
    name: step.name,
    state: step.state,
    attempts: step.attempts,
    args: step.kind === 'value' ? effectView(step.args) : decode(step.args),
    result: step.state === 'completed' ? decode(step.result) : undefined,
    error: decodeError(step.error),
    createdAt: new Date(step.createdAt),
    startedAt: toDate(step.startedAt),
    finishedAt: toDate(step.finishedAt),
    fireAt: toDate(step.fireAt),
  };
}

/** A value step's arguments are its effect (progress, state, an event, a stream entry): shown with the value decoded. */
function effectView(args: string | null): unknown {
  if (args === null) return undefined;
  const effect = JSON.parse(args) as Record<string, unknown>;
  for (const field of ['value', 'chunk']) if (typeof effect[field] === 'string') effect[field] = decode(effect[field] as string);
  return effect;
}

export function deadLetterInfo(item: DeadLetterRecord): DeadLetterInfo {
  return { ...item, args: decode(item.args), error: decodeError(item.error), createdAt: new Date(item.createdAt) };
}

/** The database-wide counts as of `now`, with this process's worker. */
export function statsView(stored: StoreStats, now: number, thisWorker: StentStats['thisWorker'], load: Pick<StentStats, 'queues' | 'throughput' | 'unserved'>): StentStats {
  return {
    executions: stored.executions,
    activities: stored.activities,
    deadLetters: stored.deadLetters,
    backlogAgeMs: stored.oldestDueAt === null ? 0 : Math.max(0, now - stored.oldestDueAt),
    workers: stored.workers.map((worker) => ({
      ...worker,
      startedAt: new Date(worker.startedAt),
      heartbeatAt: new Date(worker.heartbeatAt),
      lastSeenMsAgo: Math.max(0, now - worker.heartbeatAt),
    })),
    ...load,
    thisWorker,
  };
}
