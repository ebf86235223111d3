import { DuplicateNameError, ConfigurationError, UnknownWorkflowError } from '../errors/index.js';
import {
  getActivityDefinition,
  getWorkflowDefinition,
  type ActivityMethodDefinition,
  type AnyClass,
  type WorkflowDefinition,
} from './definitions.js';
import type { DurableMethodTag } from './durable-method.js';
import type { FlowClaimLimits } from '../store/records.js';
import { takeOver } from './durable-takeover.js';
import { copyOf, withCarriedFields } from './workflow-instances.js';

export interface RegisteredWorkflow {
  definition: WorkflowDefinition;
  /** The registered object: what the application holds and injects. */
  instance: object;
  /** A new object for one run of one execution (see the README: one object per execution). */
  create(): object;
  /** The workflow's own run() (the class's, or a stand-in's), called on the object create() made. */
  run: (...args: unknown[]) => unknown;
}

/** The workflow versions a worker's code can replay, both ends included. */
export interface VersionRange {
  from: number;
  to: number;
}

export interface RegisteredActivity {
  definition: ActivityMethodDefinition;
  instance: object;
  /** The body a worker runs on `instance` (the class's method, or a stand-in's). */
  body: (...args: unknown[]) => unknown;
}

export interface RegisterOptions {
  /**
   * The workflow or activity class `instance` takes the place of, when it is not simply an instance of
   * it (a test double, another class provided under the class's token). Default: its own class.
   */
  as?: AnyClass;
  /** Makes a new object for each run of a workflow (default: a copy of `instance`'s own fields). */
  create?: () => object;
}

/** Workflows and activities this process can run, by durable name. */
export class Registry {
  private readonly workflows = new Map<string, RegisteredWorkflow>();
  private readonly activities = new Map<string, RegisteredActivity>();

  /** Registers an instance of a class defined as a workflow and/or activity class (or a stand-in for one). */
  register(instance: object, options: RegisterOptions = {}): void {
    const target = options.as ?? (instance.constructor as AnyClass);
    const workflow = getWorkflowDefinition(target);
    const activity = getActivityDefinition(target);
    if (!workflow && !activity) {
      throw new ConfigurationError(`${target.name} is neither a workflow nor an activity class (use @Workflow() / @Activity() or defineWorkflow / defineActivity)`);
    }
    if (workflow) {
      const create = options.create;
      this.addWorkflow({
        definition: workflow,
        instance,
        create: create ? () => withCarriedFields(create(), instance) : () => copyOf(instance),
        run: this.bodyOf(instance, workflow.target, { kind: 'workflow', name: workflow.name }, 'run', workflow.original, (scope, args) => scope.callChild(workflow, args)),
      });
    }
    if (activity) {
      for (const method of activity.methods) {
        const tag: DurableMethodTag = { kind: 'activity', name: method.name, definition: method };
        const body = this.bodyOf(instance, activity.target, tag, method.methodName, method.original, (scope, args) => scope.callActivity(method, args));
        this.addActivity({ definition: method, instance, body });
      }
    }
  }

  /**
   * The function to run for a durable method: the class's own when `instance` has the class's durable
   * method, else the instance's (a stand-in), which is made durable for its callers as well.
   */
  private bodyOf(
    instance: object,
    target: AnyClass,
    tag: DurableMethodTag,
    methodName: string,
    original: (...args: unknown[]) => unknown,
    route: Parameters<typeof takeOver>[3],
  ): (...args: unknown[]) => unknown {
    const own = (target.prototype as Record<string, unknown>)[methodName];
    if ((instance as Record<string, unknown>)[methodName] === own) return original;
    return takeOver(instance, methodName, tag, route);
  }

  private addWorkflow(registered: RegisteredWorkflow): void {
    const { name, target } = registered.definition;
    const existing = this.workflows.get(name);
    if (existing) {
      if (existing.definition.target === target) return;
      throw new DuplicateNameError('workflow', name);
    }
    this.workflows.set(name, registered);
  }

  private addActivity(registered: RegisteredActivity): void {
    const { name } = registered.definition;
    const existing = this.activities.get(name);
    if (existing) {
      if (existing.definition === registered.definition) return;
      throw new DuplicateNameError('activity', name);
    }
    this.activities.set(name, registered);
  }

  workflow(name: string): RegisteredWorkflow | undefined {
    return this.workflows.get(name);
  }

  requireWorkflow(name: string): RegisteredWorkflow {
    const found = this.workflows.get(name);
    if (!found) throw new UnknownWorkflowError(name);
    return found;
  }

  activity(name: string): RegisteredActivity | undefined {
    return this.activities.get(name);
  }

  workflowNames(): string[] {
    return [...this.workflows.keys()];
  }

  /** Versioned workflows and the versions each replays (unversioned ones take every execution). */
  workflowVersions(): Map<string, VersionRange> {
    const ranges = new Map<string, VersionRange>();
    for (const [name, { definition }] of this.workflows) {
      if (definition.version !== null) ranges.set(name, { from: definition.replaysFrom ?? definition.version, to: definition.version });
    }
    return ranges;
  }

  activityNames(): string[] {
    return [...this.activities.keys()];
  }

  /** Names of activities with a cluster-wide concurrency cap, and the cap. */
  activityLimits(): Map<string, number> {
    const limits = new Map<string, number>();
    for (const [name, { definition }] of this.activities) if (definition.maxConcurrent) limits.set(name, definition.maxConcurrent);
    return limits;
  }

  /** Activities with per-key concurrency or a rate limit, and what their claims must respect. */
  flowLimits(): Map<string, FlowClaimLimits> {
    const limits = new Map<string, FlowClaimLimits>();
    for (const [name, { definition }] of this.activities) {
      const { concurrency, rate } = definition.flow;
      if (!concurrency && !rate) continue;
      limits.set(name, { concurrency: concurrency?.limit ?? null, rate: rate ? { limit: rate.limit, perMs: rate.perMs } : null, total: definition.maxConcurrent });
    }
    return limits;
  }

  /** Workflows with per-key concurrency or a start rate limit, and what their claims must respect. */
  workflowFlowLimits(): Map<string, FlowClaimLimits> {
    const limits = new Map<string, FlowClaimLimits>();
    for (const [name, { definition }] of this.workflows) {
      const { concurrency, rate } = definition.flow;
      if (!concurrency && !rate) continue;
      limits.set(name, { concurrency: concurrency?.limit ?? null, rate: rate ? { limit: rate.limit, perMs: rate.perMs } : null, total: null });
    }
    return limits;
  }

  describe(): { workflows: Array<{ name: string; className: string; queue: string }>; activities: Array<{ name: string; className: string; queue: string; maxConcurrent: number | null }> } {
    return {
      workflows: [...this.workflows.values()].map(({ definition }) => ({ name: definition.name, className: definition.target.name, queue: definition.queue })),
      activities: [...this.activities.values()].map(({ definition, instance }) => ({
        name: definition.name,
        className: instance.constructor.name,
        queue: definition.queue,
        maxConcurrent: definition.maxConcurrent,
      })),
    };
  }
}

/** An instance, or a factory (called once now for the registered instance, then once per workflow run). */
export function registerItem(registry: Registry, item: object | (() => object)): void {
  if (typeof item !== 'function') {
    registry.register(item);
    return;
  }
  if (getWorkflowDefinition(item) || getActivityDefinition(item)) {
    throw new ConfigurationError(`register(${item.name}): pass an instance, or a factory such as () => new ${item.name}(...)`);
  }
  const factory = item as () => object;
  registry.register(factory(), { create: factory });
}
