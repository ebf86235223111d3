import { randomUUID } from 'node:crypto';
import type { WorkflowDefinition } from '../definitions/definitions.js';
import { executionFlowKeys } from '../definitions/flow-limits.js';
import { NAME_LIMITS } from '../definitions/names.js';
import type { WorkflowRun } from './workflow-run.js';

/**
 * A child workflow called from a workflow: a journal step that holds the child's execution row, inserted
 * with the step in the parent's journal write, so the child exists exactly when the call is recorded; the
 * step settles when the child ends.
 */
export function callChild(run: WorkflowRun, workflow: WorkflowDefinition, args: unknown[]): Promise<unknown> {
  const taken = run.journal.takeWithArgs('child', workflow.name, args);
  if ('answer' in taken) return taken.answer;
  const { position, encodedArgs } = taken;
  const now = run.host.clock.now();
  // Unique, not derived from the position alone: an id a user chose could never collide with it. Deep
  // in a tree the parent's id would make it too long for its column: then it is a fresh UUID alone.
  let childId = `${run.executionId}.${position}.${randomUUID().slice(0, 8)}`;
  if (childId.length > NAME_LIMITS['execution id']) childId = randomUUID();
  const step = run.journal.valueStep(position, 'child', workflow.name, 'waiting', null, null);
  step.args = encodedArgs;
  step.childExecutionId = childId;
  step.child = {
    // One trace follows the whole tree: a child continues its parent's dispatch.
    traceContext: run.execution.traceContext,
    id: childId,
    workflowName: workflow.name,
    args: encodedArgs,
    queue: workflow.queue,
    priority: workflow.priority ?? run.execution.priority,
    tags: workflow.tags,
    parentId: run.executionId,
    parentPosition: position,
    idempotencyKey: null,
    createdAt: now,
    wakeAt: now,
    deadlineAt: workflow.maxDurationMs === null ? null : now + workflow.maxDurationMs,
    maxDurationMs: workflow.maxDurationMs,
    ...executionFlowKeys(workflow.flow, args),
  };
  run.writer.enqueueInsert(step);
  return run.delivery.wait(position, 'child', null);
}
