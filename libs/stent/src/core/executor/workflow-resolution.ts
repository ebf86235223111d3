import { getWorkflowDefinition, type AnyClass } from '../definitions/definitions.js';
import { checkName } from '../definitions/names.js';
import type { FlowLimits } from '../definitions/flow-limits.js';
import type { Registry } from '../definitions/registry.js';
import type { WorkflowRef } from '../api/workflow-types.js';
import { UnknownWorkflowError } from '../errors/index.js';
import type { WorkerView } from './operations/workers-view.js';

/** What a dispatch needs of a workflow: its name and its dispatch defaults. */
export interface ResolvedWorkflow {
  name: string;
  queue: string;
  priority: number | null;
  tags: string[];
  maxDurationMs: number | null;
  /** Its flow limits, when this process has the workflow's class (the key functions live there). */
  flow?: FlowLimits;
}

/**
 * The workflow a dispatch names, from this process's registry; undefined for a name it has not registered
 * when `fromWorkers` allows asking the live workers (see routeFromWorkers), else UnknownWorkflowError.
 */
export function resolveWorkflow(registry: Registry, workflow: WorkflowRef<unknown>, fromWorkers: boolean): ResolvedWorkflow | undefined {
  if (typeof workflow === 'string') {
    const registered = registry.workflow(workflow);
    if (registered) return { ...registered.definition };
    // Another process may run it; a name no live worker runs either is refused so typos surface.
    if (!fromWorkers) throw new UnknownWorkflowError(workflow);
    return undefined;
  }
  const definition = getWorkflowDefinition(workflow);
  if (!definition) throw new UnknownWorkflowError((workflow as AnyClass)?.name ?? String(workflow));
  return definition;
}

/** A workflow only other processes run: the dispatch defaults a live worker recorded for it. */
export function routeFromWorkers(name: string, workers: WorkerView[]): ResolvedWorkflow {
  checkName('workflow', name);
  for (const worker of workers) {
    if (worker.status !== 'live') continue;
    const route = worker.workflowRoutes[name];
    if (route) return { name, ...route };
  }
  throw new UnknownWorkflowError(name);
}
