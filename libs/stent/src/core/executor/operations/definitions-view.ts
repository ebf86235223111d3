import type { RetryPolicy } from '../../definitions/retry-policy.js';
import type { Registry } from '../../definitions/registry.js';
import type { FlowLimits } from '../../definitions/flow-limits.js';

export interface WorkflowDefinitionView {
  name: string;
  className: string;
  queue: string;
  /** Null: 0 for a dispatch, the parent's priority for a child. */
  priority: number | null;
  tags: string[];
  maxDurationMs: number | null;
  /** Per-key concurrency of executions (the key function itself is not shown). */
  concurrency: { limit: number } | null;
  /** Fixed-window limit on starts; `keyed` when a key function splits it per key. */
  rateLimit: { limit: number; perMs: number; keyed: boolean } | null;
}

export interface ActivityDefinitionView {
  name: string;
  className: string;
  methodName: string;
  queue: string;
  /** Null: the calling execution's priority. */
  priority: number | null;
  tags: string[];
  retry: RetryPolicy;
  timeoutMs: number | null;
  maxConcurrent: number | null;
  /** Per-key concurrency (the key function itself is not shown). */
  concurrency: { limit: number } | null;
  /** Fixed-window rate limit; `keyed` when a key function splits it per key. */
  rateLimit: { limit: number; perMs: number; keyed: boolean } | null;
  /** Set when results are reused across executions (idempotent / cached). */
  cache: { ttlMs: number | null; version: string; customKey: boolean } | null;
}

export interface DefinitionsView {
  workflows: WorkflowDefinitionView[];
  activities: ActivityDefinitionView[];
}

/** The workflows and activities this process registered, with their resolved options, sorted by name. */
export function definitionsView(registry: Registry): DefinitionsView {
  const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);
  const workflows = registry.workflowNames().map((name): WorkflowDefinitionView => {
    const { definition } = registry.workflow(name)!;
    return {
      name,
      className: definition.target.name,
      queue: definition.queue,
      priority: definition.priority,
      tags: [...definition.tags],
      maxDurationMs: definition.maxDurationMs,
      ...flowView(definition.flow),
    };
  });
  const activities = registry.activityNames().map((name): ActivityDefinitionView => {
    const { definition, instance } = registry.activity(name)!;
    return {
      name,
      className: instance.constructor.name,
      methodName: definition.methodName,
      queue: definition.queue,
      priority: definition.priority,
      tags: [...definition.tags],
      retry: { ...definition.retry, nonRetryable: [...definition.retry.nonRetryable] },
      timeoutMs: definition.timeoutMs,
      maxConcurrent: definition.maxConcurrent,
      ...flowView(definition.flow),
      cache: definition.cache ? { ttlMs: definition.cache.ttlMs, version: definition.cache.version, customKey: definition.cache.key !== null } : null,
    };
  });
  return { workflows: workflows.sort(byName), activities: activities.sort(byName) };
}

/** Flow limits as shown: their numbers, not the key functions. */
function flowView(flow: FlowLimits): Pick<ActivityDefinitionView, 'concurrency' | 'rateLimit'> {
  return {
    concurrency: flow.concurrency ? { limit: flow.concurrency.limit } : null,
    rateLimit: flow.rate ? { limit: flow.rate.limit, perMs: flow.rate.perMs, keyed: flow.rate.key !== null } : null,
  };
}
