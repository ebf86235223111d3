import { AsyncLocalStorage } from 'node:async_hooks';
import type { ResolvedActivityOptions, WorkflowDefinition } from './definitions.js';
import { NotInWorkflowError } from './errors/index.js';

/** What durable helpers need from the workflow run they are called in. */
export interface WorkflowScope {
  readonly kind: 'workflow';
  readonly executionId: string;
  /** The run finished, suspended or was dropped: its async context no longer counts as a workflow. */
  readonly ended: boolean;
  /** Reports a durable call made after the run ended (it is refused). */
  calledAfterEnd(what: string): void;
  callActivity(activity: ResolvedActivityOptions, args: unknown[]): Promise<unknown>;
  callChild(workflow: WorkflowDefinition, args: unknown[]): Promise<unknown>;
  sleep(ms: number): Promise<void>;
  waitForSignal(name: string, timeoutMs: number | undefined): Promise<unknown>;
  mapActivity(activity: ResolvedActivityOptions, items: unknown[][]): Promise<unknown[]>;
  recordValue<T>(label: string, produce: () => T): T;
  now(): Date;
  uuid(): string;
  random(): number;
  setProgress(progress: unknown): void;
  incrementCounter(name: string, by: number): void;
  setState(key: string, value: unknown): void;
}

/** What an activity body can see about the attempt it runs in. */
export interface ActivityScope {
  readonly kind: 'activity';
  readonly executionId: string;
  readonly activityName: string;
  readonly attempt: number;
  readonly position: number;
  readonly signal: AbortSignal;
  heartbeat(details?: unknown): void;
}

export type Scope = WorkflowScope | ActivityScope;

export const scopeStorage = new AsyncLocalStorage<Scope>();

/** The workflow run the caller belongs to, while that run is live. */
export function currentWorkflowScope(): WorkflowScope | undefined {
  const scope = scopeStorage.getStore();
  return scope?.kind === 'workflow' && !scope.ended ? scope : undefined;
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

/** Whether the caller runs in the async context of a workflow run that has ended. */
export function inEndedWorkflowRun(): boolean {
  const scope = scopeStorage.getStore();
  return scope?.kind === 'workflow' && scope.ended;
}

export function currentActivityScope(): ActivityScope | undefined {
  const scope = scopeStorage.getStore();
  return scope?.kind === 'activity' ? scope : undefined;
}
