import { DuplicateNameError, ConfigurationError, UnknownWorkflowError } from './errors/index.js';
import {
  getActivityDefinition,
  getWorkflowDefinition,
  type ActivityMethodDefinition,
  type AnyClass,
  type WorkflowDefinition,
} from './definitions.js';

export interface RegisteredWorkflow {
  definition: WorkflowDefinition;
  instance: object;
}

export interface RegisteredActivity {
  definition: ActivityMethodDefinition;
  instance: object;
}

/** Workflows and activities this process can run, by durable name. */
export class Registry {
  private readonly workflows = new Map<string, RegisteredWorkflow>();
  private readonly activities = new Map<string, RegisteredActivity>();

  /** Registers an instance of a class defined as a workflow and/or activity class. */
  register(instance: object): void {
    const target = instance.constructor as AnyClass;
    const workflow = getWorkflowDefinition(target);
    const activity = getActivityDefinition(target);
    if (!workflow && !activity) {
      throw new ConfigurationError(`${target.name} is neither a workflow nor an activity class (use @Workflow() / @Activity() or defineWorkflow / defineActivity)`);
    }
    if (workflow) this.addWorkflow(workflow, instance);
    if (activity) for (const method of activity.methods) this.addActivity(method, instance);
  }

  private addWorkflow(definition: WorkflowDefinition, instance: object): void {
    const existing = this.workflows.get(definition.name);
    if (existing) {
      if (existing.definition.target === definition.target) return;
      throw new DuplicateNameError('workflow', definition.name);
    }
    this.workflows.set(definition.name, { definition, instance });
  }

  private addActivity(definition: ActivityMethodDefinition, instance: object): void {
    const existing = this.activities.get(definition.name);
    if (existing) {
      if (existing.definition === definition) return;
      throw new DuplicateNameError('activity', definition.name);
    }
    this.activities.set(definition.name, { definition, instance });
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

  activityNames(): string[] {
    return [...this.activities.keys()];
  }

  /** Names of activities with a cluster-wide concurrency cap, and the cap. */
  activityLimits(): Map<string, number> {
    const limits = new Map<string, number>();
    for (const [name, { definition }] of this.activities) if (definition.maxConcurrent) limits.set(name, definition.maxConcurrent);
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
