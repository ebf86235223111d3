import { randomUUID } from 'node:crypto';
import { StentError } from '../errors/index.js';
import { encode } from '../serialization.js';
import type { StepRecord } from '../store/index.js';
import { never } from './run-journal.js';
import type { WorkflowRun } from './workflow-run.js';

/**
 * Durable calls about a workflow's history rather than its work: ending an execution in favour of a
 * fresh one (continue-as-new), and patch markers that let changed code replay executions started before
 * the change.
 */

/**
 * Ends the execution (completed, no value) and inserts its continuation in the same transaction, once
 * what the workflow recorded so far is written. Calls it left open are cancelled, as at any ending.
 */
export function continueAsNew(run: WorkflowRun, args: unknown[]): Promise<never> {
  if (run.ended) return never();
  let encodedArgs: string;
  let keys: { concurrencyKey: string | null; rateKey: string | null };
  try {
    encodedArgs = encode(args, 'Stent.continueAsNew(args)');
    keys = run.flowKeysOf(args);
  } catch (error) {
    return Promise.reject(error);
  }
  const { execution } = run;
  const now = run.host.clock.now();
  void run.lifecycle.finish('completed', null, null, {
    id: randomUUID(),
    workflowName: execution.workflowName,
    args: encodedArgs,
    queue: execution.queue,
    priority: execution.priority,
    tags: execution.tags,
    parentId: execution.parentId,
    parentPosition: execution.parentPosition,
    idempotencyKey: null,
    createdAt: now,
    wakeAt: now,
    deadlineAt: execution.maxDurationMs === null ? null : now + execution.maxDurationMs,
    maxDurationMs: execution.maxDurationMs,
    traceContext: execution.traceContext,
    continuedFrom: execution.id,
    ...keys,
  });
  return never();
}

/**
 * A patch marker is a value step named 'patch:<id>'. At a position the journal already holds with another
 * call, this execution passed the patch point before the patch: false, and no position is taken, so the
 * calls after it keep their recorded positions. At a new position the marker is recorded.
 */
export function patched(run: WorkflowRun, id: string): boolean {
  if (run.ended) throw new StentError('This workflow run has ended');
  const marker = patchMarker(id);
  const position = run.journal.taken;
  const recorded = run.journal.get(position);
  if (recorded && !isMarker(recorded, marker)) {
    if (!run.tentative.has(position)) return false;
    // A tentative step (of a revive) that differs is dropped: the position is new again.
    run.journal.check(position, 'value', marker);
  }
  run.recordValue(marker, () => true);
  return true;
}

/** The marker of a deprecated patch is consumed where an execution recorded it, and recorded nowhere else. */
export function deprecatePatch(run: WorkflowRun, id: string): void {
  if (run.ended) return;
  const marker = patchMarker(id);
  const recorded = run.journal.get(run.journal.taken);
  if (recorded && isMarker(recorded, marker)) run.recordValue(marker, () => true);
}

function patchMarker(id: string): string {
  return `patch:${id}`;
}

function isMarker(step: StepRecord, marker: string): boolean {
  return step.kind === 'value' && step.name === marker;
}
