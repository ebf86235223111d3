import type { StentExecutor, StentStore } from 'nestjs-stent';

/** The id of the only child execution of `parentId` (child ids are not derived from the parent's alone). */
export async function childExecutionId(executor: StentExecutor, parentId: string): Promise<string> {
  const { items } = await executor.listExecutions({ parentId });
  if (items.length !== 1) throw new Error(`execution ${parentId} has ${items.length} child executions, expected one`);
  return items[0]!.id;
}

/** What a store's createExecution takes: a top-level execution of workflow 'Flow', due `now` in queue 'default'. */
export function newExecution(id: string, now: number, more: Partial<Parameters<StentStore['createExecution']>[0]> = {}): Parameters<StentStore['createExecution']>[0] {
  return {
    id,
    workflowName: 'Flow',
    args: '[]',
    queue: 'default',
    priority: 0,
    tags: [],
    parentId: null,
    parentPosition: null,
    idempotencyKey: null,
    createdAt: now,
    wakeAt: now,
    deadlineAt: null,
    maxDurationMs: null,
    ...more,
  };
}

/** What a store's insertSteps takes: activity step `id` of 'Acts.work' at `position`, pending and due `now`. */
export function newStep(id: string, executionId: string, position: number, now: number, more: Partial<Parameters<StentStore['insertSteps']>[1][number]> = {}): Parameters<StentStore['insertSteps']>[1][number] {
  return {
    id,
    executionId,
    position,
    kind: 'activity',
    name: 'Acts.work',
    args: '[]',
    state: 'pending',
    retryPolicy: null,
    timeoutMs: null,
    queue: 'default',
    priority: 0,
    tags: [],
    maxConcurrent: null,
    availableAt: now,
    fireAt: null,
    createdAt: now,
    callTurn: 0,
    ...more,
  };
}

/** Creates execution `id` of workflow 'Flow' and claims it for `owner`: the fence its journal writes carry. */
export async function claimedExecution(store: StentStore, id: string, owner: string, now: number): Promise<Parameters<StentStore['insertSteps']>[0]> {
  await store.createExecution(newExecution(id, now));
  const [execution] = await store.claimExecutions({ owner, names: ['Flow'], queues: ['default'], tags: [], limit: 1, now, leaseMs: 60_000, limits: new Map() });
  if (execution?.id !== id) throw new Error(`execution ${id} was not claimed (got ${execution?.id ?? 'none'})`);
  return { executionId: id, owner, epoch: execution.leaseEpoch };
}
