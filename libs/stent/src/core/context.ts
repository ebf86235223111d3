import { AsyncLocalStorage } from 'node:async_hooks';
import type { ResolvedActivityOptions, WorkflowDefinition } from './definitions/definitions.js';

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
  patched(id: string): boolean;
  continueAsNew(args: unknown[]): Promise<never>;
  deprecatePatch(id: string): void;
  now(): Date;
  uuid(): string;
  random(): number;
  setProgress(progress: unknown): void;
  incrementCounter(name: string, by: number): void;
  setState(key: string, value: unknown): void;
  setEvent(key: string, value: unknown): void;
  writeStream(key: string, chunk: unknown): void;
  closeStream(key: string): void;
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

/** Whether the caller runs in the async context of a workflow run that has ended. */
export function inEndedWorkflowRun(): boolean {
  const scope = scopeStorage.getStore();
  return scope?.kind === 'workflow' && scope.ended;
}

export function currentActivityScope(): ActivityScope | undefined {
  const scope = scopeStorage.getStore();
  return scope?.kind === 'activity' ? scope : undefined;
}
