import { randomUUID } from 'node:crypto';
import type { NewStep, StepRecord } from '../store/index.js';

/*
 * Step records built field by field in one fixed order, so that every record shares one object shape. A
 * copy by spread (`{ ...step, state }`) of an object this wide gets a shape of its own in V8, several
 * hundred bytes more per record, which a run holding thousands of them pays for each.
 */

/**
 * A new step's id: a UUID held as one flat string. crypto.randomUUID() concatenates its 21 pieces, which V8
 * keeps as a tree of cons strings (about 0.5 KB) until something flattens it; a fan-out holds each new step
 * until its part of the journal is written, long enough for V8 to promote it, so 20,000 such ids left 9.5 MB
 * in the old generation. Reading a character flattens the string in place (70 bytes an id; the tree is
 * garbage at once).
 */
export function newStepId(): string {
  const id = randomUUID();
  id.charCodeAt(0);
  return id;
}

/** The record of a step this run just inserted. */
export function insertedRecord(step: NewStep): StepRecord {
  const claimed = step.claimedBy;
  return {
    id: step.id,
    executionId: step.executionId,
    position: step.position,
    kind: step.kind,
    name: step.name,
    args: step.args,
    state: step.state,
    result: step.result ?? null,
    error: step.error ?? null,
    attempts: claimed ? 1 : 0,
    retryPolicy: step.retryPolicy,
    timeoutMs: step.timeoutMs,
    queue: step.queue,
    priority: step.priority,
    tags: step.tags,
    maxConcurrent: step.maxConcurrent,
    availableAt: step.availableAt,
    fireAt: step.fireAt,
    leaseOwner: claimed?.owner ?? null,
    leaseEpoch: claimed ? 1 : 0,
    leaseExpiresAt: claimed?.leaseExpiresAt ?? null,
    recoveries: 0,
    createdAt: step.createdAt,
    startedAt: claimed ? step.createdAt : null,
    finishedAt: null,
    childExecutionId: step.childExecutionId ?? null,
    callTurn: step.callTurn,
    deliveredTurn: null,
    deliveredSeq: null,
    tentative: false,
    // Last, as stepFromRow has them: a keyed step started from this record (a slot handed on) must still
    // know its key, so that its own slot is handed on in turn when its body finishes.
    concurrencyKey: step.concurrencyKey ?? null,
    rateKey: step.rateKey ?? null,
  };
}

/** `step` as completed by this worker with `result` (its lease given back). */
export function completedRecord(step: StepRecord, result: string, finishedAt: number): StepRecord {
  return {
    id: step.id,
    executionId: step.executionId,
    position: step.position,
    kind: step.kind,
    name: step.name,
    args: step.args,
    state: 'completed',
    result,
    error: step.error,
    attempts: step.attempts,
    retryPolicy: step.retryPolicy,
    timeoutMs: step.timeoutMs,
    queue: step.queue,
    priority: step.priority,
    tags: step.tags,
    maxConcurrent: step.maxConcurrent,
    availableAt: step.availableAt,
    fireAt: step.fireAt,
    leaseOwner: null,
    leaseEpoch: step.leaseEpoch,
    leaseExpiresAt: step.leaseExpiresAt,
    recoveries: step.recoveries,
    createdAt: step.createdAt,
    startedAt: step.startedAt,
    finishedAt,
    childExecutionId: step.childExecutionId,
    callTurn: step.callTurn,
    deliveredTurn: step.deliveredTurn,
    deliveredSeq: step.deliveredSeq,
    tentative: step.tentative,
    concurrencyKey: step.concurrencyKey ?? null,
    rateKey: step.rateKey ?? null,
  };
}
