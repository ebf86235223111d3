import { scopeStorage, type WorkflowScope } from '../context.js';
import { NotInWorkflowError } from '../errors/index.js';
import type { ActivityMethodDefinition, WorkflowDefinition } from './definitions.js';

/**
 * How a call becomes a step. The methods of an activity class and a workflow's run() are replaced on the
 * class by wrappers: called inside a live workflow run, a wrapper records a durable call (an activity step,
 * a child execution) in that run's journal; called anywhere else it is the plain method call.
 */

/** Set on the wrapper of a durable method so Stent.map can tell which activity it is. */
export const DURABLE_METHOD = Symbol.for('stent.durableMethod');

export interface DurableMethodTag {
  kind: 'activity' | 'workflow';
  name: string;
  definition?: ActivityMethodDefinition;
}

export function durableMethodOf(fn: unknown): DurableMethodTag | undefined {
  return typeof fn === 'function' ? (fn as unknown as Record<symbol, DurableMethodTag>)[DURABLE_METHOD] : undefined;
}

/** Replaces the activity method on `prototype` by its durable wrapper. */
export function installDurableActivity(prototype: object, definition: ActivityMethodDefinition): void {
  const { original, methodName } = definition;
  const wrapper = function durableActivity(this: unknown, ...args: unknown[]): unknown {
    return routeDurableCall(
      definition.name,
      (scope) => scope.callActivity(definition, args),
      () => original.apply(this, args),
    );
  };
  install(prototype, methodName, wrapper, { kind: 'activity', name: definition.name, definition });
}

/** Replaces run() on a workflow's `prototype` by its durable wrapper (a child execution inside a workflow). */
export function installDurableRun(prototype: object, definition: WorkflowDefinition): void {
  const { original, name } = definition;
  const wrapper = function durableWorkflow(this: unknown, ...args: unknown[]): unknown {
    return routeDurableCall(
      `${name}.run`,
      (scope) => scope.callChild(definition, args),
      () => original.apply(this, args),
    );
  };
  install(prototype, 'run', wrapper, { kind: 'workflow', name });
}

function install(prototype: object, methodName: string, wrapper: (...args: unknown[]) => unknown, tag: DurableMethodTag): void {
  Object.defineProperty(wrapper, 'name', { value: methodName });
  Object.defineProperty(wrapper, DURABLE_METHOD, { value: tag });
  Object.defineProperty(prototype, methodName, { value: wrapper, writable: true, configurable: true, enumerable: false });
}

/**
 * Routes a call of a durable method (an activity method, a workflow's run()): inside a live workflow run
 * it is a durable call, outside any workflow a plain call. Code that outlived its run (a timer or a
 * promise started inside it, a continuation of a run that was dropped) keeps the run's async context; a
 * call from there is refused with a rejected promise (NotInWorkflowError): running it plainly would act
 * outside the journal (perhaps beside the worker that now owns the execution), and waiting on the ended
 * run would never settle.
 */
export function routeDurableCall(what: string, durable: (scope: WorkflowScope) => unknown, plain: () => unknown): unknown {
  const scope = scopeStorage.getStore();
  if (scope?.kind !== 'workflow') return plain();
  if (!scope.ended) return durable(scope);
  scope.calledAfterEnd(what);
  const refused = Promise.reject(new NotInWorkflowError(what, true));
  // Awaited, the caller sees the error; fired and forgotten, it is not an unhandled rejection.
  refused.catch(() => undefined);
  return refused;
}
