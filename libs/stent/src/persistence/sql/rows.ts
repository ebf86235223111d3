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

export function stepFromRow(row: Row): StepRecord {
  return {
    id: String(row.id),
    executionId: String(row.execution_id),
    position: num(row.position),
    kind: row.kind as StepRecord['kind'],
    name: String(row.name),
    args: strOrNull(row.args),
    state: row.state as StepRecord['state'],
    result: strOrNull(row.result),
    error: strOrNull(row.error),
    attempts: num(row.attempts),
    retryPolicy: row.retry_policy ? (JSON.parse(String(row.retry_policy)) as RetryPolicy) : null,
    timeoutMs: numOrNull(row.timeout_ms),
    queue: String(row.queue),
    priority: num(row.priority),
    tags: JSON.parse(String(row.tags ?? '[]')) as string[],
    maxConcurrent: numOrNull(row.max_concurrent),
    availableAt: num(row.available_at),
    fireAt: numOrNull(row.fire_at),
    leaseOwner: strOrNull(row.lease_owner),
    leaseEpoch: num(row.lease_epoch),
    leaseExpiresAt: numOrNull(row.lease_expires_at),
    recoveries: num(row.recoveries),
    createdAt: num(row.created_at),
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
    childExecutionId: strOrNull(row.child_execution_id),
    callTurn: num(row.call_turn ?? 0),
    deliveredTurn: numOrNull(row.delivered_turn),
    deliveredSeq: numOrNull(row.delivered_seq),
    tentative: num(row.tentative ?? 0) === 1,
    concurrencyKey: strOrNull(row.concurrency_key),
    rateKey: strOrNull(row.rate_key),
  };
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
