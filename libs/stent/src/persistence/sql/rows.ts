import type { DeadLetterRecord, ExecutionRecord, NewStep, RetryPolicy, StepRecord } from '../../core/index.js';
import type { Row } from './dialect.js';

/** Columns of a new step, in insert order. */
export const STEP_COLUMNS = [
  'id',
  'execution_id',
  'position',
  'kind',
  'name',
  'args',
  'state',
  'result',
  'error',
  'attempts',
  'retry_policy',
  'timeout_ms',
  'queue',
  'priority',
  'tags',
  'max_concurrent',
  'available_at',
  'fire_at',
  'lease_owner',
  'lease_epoch',
  'lease_expires_at',
  'created_at',
  'started_at',
  'child_execution_id',
  'call_turn',
  'concurrency_key',
  'rate_key',
] as const;
/** PostgreSQL types of STEP_COLUMNS, for typed VALUES lists. */
export const STEP_COLUMN_TYPES = [
  'varchar', 'varchar', 'integer', 'varchar', 'varchar', 'text', 'varchar', 'text', 'text', 'integer', 'text', 'integer',
  'varchar', 'integer', 'text', 'integer', 'bigint', 'bigint', 'varchar', 'integer', 'bigint', 'bigint', 'bigint', 'varchar', 'integer',
  'varchar', 'varchar',
] as const;
/** Most steps one insert statement carries (the databases cap the parameters of a statement). */
export const INSERT_CHUNK = Math.floor(30_000 / STEP_COLUMNS.length);
/**
 * Most steps one SQLite insert statement carries. Its text stays short enough for the client's statement
 * cache, so each size is prepared once per connection; a 1,000-call fan-out's single statement was
 * prepared at every send and bound its 27,000 values through one call.
 */
export const SQLITE_INSERT_ROWS = 32;
/** Columns read back (named, not `*`, so a prepared statement's result type survives a migration that adds columns). */
export const EXECUTION_READ = [
  'id', 'workflow_name', 'state', 'args', 'result', 'error', 'queue', 'priority', 'tags', 'parent_id', 'parent_position', 'idempotency_key',
  'created_at', 'updated_at', 'started_at', 'finished_at', 'deadline_at', 'max_duration_ms', 'wake_at', 'lease_owner', 'lease_epoch',
  'lease_expires_at', 'recoveries', 'progress', 'counters', 'custom_state', 'revive_position', 'trace_context',
  'workflow_version', 'continued_from', 'continued_as', 'forked_from', 'forked_at',
];
export const STEP_READ = [...STEP_COLUMNS, 'recoveries', 'finished_at', 'delivered_turn', 'delivered_seq', 'tentative'];

/** PostgreSQL hands BIGINT and COUNT back as strings. */
export const num = (value: unknown): number => (typeof value === 'number' ? value : Number(value));
export const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : num(value));
export const strOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

export function executionFromRow(row: Row): ExecutionRecord {
  return {
    id: String(row.id),
    workflowName: String(row.workflow_name),
    state: row.state as ExecutionRecord['state'],
    args: String(row.args),
    result: strOrNull(row.result),
    error: strOrNull(row.error),
    queue: String(row.queue),
    priority: num(row.priority),
    tags: JSON.parse(String(row.tags ?? '[]')) as string[],
    parentId: strOrNull(row.parent_id),
    parentPosition: numOrNull(row.parent_position),
    idempotencyKey: strOrNull(row.idempotency_key),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
    deadlineAt: numOrNull(row.deadline_at),
    maxDurationMs: numOrNull(row.max_duration_ms),
    wakeAt: numOrNull(row.wake_at),
    leaseOwner: strOrNull(row.lease_owner),
    leaseEpoch: num(row.lease_epoch),
    leaseExpiresAt: numOrNull(row.lease_expires_at),
    recoveries: num(row.recoveries),
    progress: strOrNull(row.progress),
    counters: strOrNull(row.counters),
    customState: strOrNull(row.custom_state),
    traceContext: strOrNull(row.trace_context),
    revivePosition: numOrNull(row.revive_position),
    workflowVersion: numOrNull(row.workflow_version),
    continuedFrom: strOrNull(row.continued_from),
    continuedAs: strOrNull(row.continued_as),
    forkedFrom: strOrNull(row.forked_from),
    forkedAt: numOrNull(row.forked_at),
  };
}

/**
 * The columns of a step that statements change after its insert (a claim, an outcome, a retry, a revive,
 * a delivery order), with its id; every other column is written once, by the insert, and never changed.
 */
export const STEP_CHANGING = [
  'id',
  'state',
  'result',
  'error',
  'attempts',
  'available_at',
  'lease_owner',
  'lease_epoch',
  'lease_expires_at',
  'started_at',
  'recoveries',
  'finished_at',
  'delivered_turn',
  'delivered_seq',
  'tentative',
] as const;
/** The columns of a step no statement changes after its insert, with its id. */
export const STEP_UNCHANGING = ['id', ...STEP_READ.filter((column) => !(STEP_CHANGING as readonly string[]).includes(column))];

/** What a step's insert wrote: the fields of its record that never change. */
type StepUnchanging = Omit<StepRecord, 'state' | 'result' | 'error' | 'attempts' | 'availableAt' | 'leaseOwner' | 'leaseEpoch' | 'leaseExpiresAt' | 'recoveries' | 'startedAt' | 'finishedAt' | 'deliveredTurn' | 'deliveredSeq' | 'tentative'>;

/**
 * A step's record: what its insert wrote (`written`: a row's STEP_UNCHANGING, or the call itself) and the
 * columns that change (`changes`: a row's STEP_CHANGING). One object literal of fixed keys: every record
 * shares one hidden class, however it was made.
 */
export function stepRecordOf(written: StepUnchanging, changes: Row): StepRecord {
  return {
    id: written.id,
    executionId: written.executionId,
    position: written.position,
    kind: written.kind,
    name: written.name,
    args: written.args,
    state: changes.state as StepRecord['state'],
    result: strOrNull(changes.result),
    error: strOrNull(changes.error),
    attempts: num(changes.attempts),
    retryPolicy: written.retryPolicy,
    timeoutMs: written.timeoutMs,
    queue: written.queue,
    priority: written.priority,
    tags: written.tags,
    maxConcurrent: written.maxConcurrent,
    availableAt: num(changes.available_at),
    fireAt: written.fireAt,
    leaseOwner: strOrNull(changes.lease_owner),
    leaseEpoch: num(changes.lease_epoch),
    leaseExpiresAt: numOrNull(changes.lease_expires_at),
    recoveries: num(changes.recoveries),
    createdAt: written.createdAt,
    startedAt: numOrNull(changes.started_at),
    finishedAt: numOrNull(changes.finished_at),
    childExecutionId: written.childExecutionId,
    callTurn: written.callTurn,
    deliveredTurn: numOrNull(changes.delivered_turn),
    deliveredSeq: numOrNull(changes.delivered_seq),
    tentative: num(changes.tentative ?? 0) === 1,
    concurrencyKey: written.concurrencyKey,
    rateKey: written.rateKey,
  };
}

/** What a step's insert wrote, as the call it was written from holds it. */
export function unchangingOfCall(call: NewStep): StepUnchanging {
  return {
    id: call.id,
    executionId: call.executionId,
    position: call.position,
    kind: call.kind,
    name: call.name,
    args: call.args,
    retryPolicy: call.retryPolicy,
    timeoutMs: call.timeoutMs,
    queue: call.queue,
    priority: call.priority,
    tags: call.tags,
    maxConcurrent: call.maxConcurrent,
    fireAt: call.fireAt,
    createdAt: call.createdAt,
    childExecutionId: call.childExecutionId ?? null,
    callTurn: call.callTurn,
    concurrencyKey: call.concurrencyKey ?? null,
    rateKey: call.rateKey ?? null,
  };
}

/** What a step's insert wrote, from a row holding STEP_UNCHANGING. */
export function unchangingFromRow(row: Row): StepUnchanging {
  return {
    id: String(row.id),
    executionId: String(row.execution_id),
    position: num(row.position),
    kind: row.kind as StepRecord['kind'],
    name: String(row.name),
    args: strOrNull(row.args),
    retryPolicy: row.retry_policy ? (JSON.parse(String(row.retry_policy)) as RetryPolicy) : null,
    timeoutMs: numOrNull(row.timeout_ms),
    queue: String(row.queue),
    priority: num(row.priority),
    tags: JSON.parse(String(row.tags ?? '[]')) as string[],
    maxConcurrent: numOrNull(row.max_concurrent),
    fireAt: numOrNull(row.fire_at),
    createdAt: num(row.created_at),
    childExecutionId: strOrNull(row.child_execution_id),
    callTurn: num(row.call_turn ?? 0),
    concurrencyKey: strOrNull(row.concurrency_key),
    rateKey: strOrNull(row.rate_key),
  };
}

export function stepFromRow(row: Row): StepRecord {
  return stepRecordOf(unchangingFromRow(row), row);
}

export function deadLetterFromRow(row: Row): DeadLetterRecord {
  return {
    id: String(row.id),
    stepId: strOrNull(row.step_id),
    executionId: String(row.execution_id),
    kind: String(row.kind),
    name: String(row.name),
    args: strOrNull(row.args),
    error: strOrNull(row.error),
    attempts: num(row.attempts),
    reason: String(row.reason),
    createdAt: num(row.created_at),
  };
}

/**
 * Values of a new step in STEP_COLUMNS order. With `leaseRelative` its lease (if it is inserted claimed)
 * is given as a duration, for a statement that adds it to the database's clock (see Dialect.leaseNow).
 */
export function stepParams(step: NewStep, leaseRelative = false): unknown[] {
  return [
    step.id,
    step.executionId,
    step.position,
    step.kind,
    step.name,
    step.args,
    step.state,
    step.result ?? null,
    step.error ?? null,
    step.claimedBy ? 1 : 0,
    step.retryPolicy ? JSON.stringify(step.retryPolicy) : null,
    step.timeoutMs,
    step.queue,
    step.priority,
    JSON.stringify(step.tags),
    step.maxConcurrent,
    step.availableAt,
    step.fireAt,
    step.claimedBy?.owner ?? null,
    step.claimedBy ? 1 : 0,
    step.claimedBy ? (leaseRelative ? step.claimedBy.leaseExpiresAt - step.createdAt : step.claimedBy.leaseExpiresAt) : null,
    step.createdAt,
    step.claimedBy ? step.createdAt : null,
    step.childExecutionId ?? null,
    step.callTurn,
    step.concurrencyKey ?? null,
    step.rateKey ?? null,
  ];
}
