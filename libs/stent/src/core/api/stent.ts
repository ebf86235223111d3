import { currentActivityScope, currentWorkflowScope, inEndedWorkflowRun, type ActivityScope, type WorkflowScope } from '../context.js';
import { durableMethodOf } from '../definitions/durable-method.js';
import { parseDuration, parseOptionalDuration, type Duration } from './duration.js';
import { ConfigurationError, NotInWorkflowError } from '../errors/index.js';
import { checkName } from '../definitions/names.js';

function workflowScope(what: string): WorkflowScope {
  const scope = currentWorkflowScope();
  if (!scope) throw new NotInWorkflowError(what, inEndedWorkflowRun());
  return scope;
}

/** Durable helpers for code running inside a workflow (and Stent.activity() inside an activity). */
export const Stent = {
  /** A durable timer: recorded with its absolute wake-up time, so a restart does not start it over. */
  sleep(duration: Duration): Promise<void> {
    const ms = parseDuration(duration);
    return workflowScope('Stent.sleep').sleep(ms);
  },

  /** Waits for a signal sent with executor.sendSignal; throws SignalTimeoutError after `timeout`. */
  waitForSignal<T = unknown>(name: string, options: { timeout?: Duration } = {}): Promise<T> {
    checkName('signal', name);
    const timeoutMs = parseOptionalDuration(options.timeout);
    return workflowScope('Stent.waitForSignal').waitForSignal(name, timeoutMs) as Promise<T>;
  },

  /**
   * Runs an activity once per item, all steps recorded in one batch; results come back in order.
   * The rule for items: an item that is an array is the argument list of one call (`[id, cents]` calls
   * `charge(id, cents)`); anything else is the only argument of one call (`[1, 2, 3]` calls `square(1)`,
   * `square(2)`, `square(3)`). To pass an array as the only argument, wrap it in its argument list:
   * `[[...ids]]`.
   */
  map<A extends unknown[], R>(activity: (...args: A) => Promise<R>, items: ReadonlyArray<A | LoneArgument<A>>): Promise<R[]> {
    const tag = durableMethodOf(activity);
    if (!tag || tag.kind !== 'activity' || !tag.definition) throw new ConfigurationError('Stent.map takes a method of an activity class');
    const scope = workflowScope('Stent.map');
    const argLists = items.map((item) => (Array.isArray(item) ? (item as unknown[]) : [item]));
    return scope.mapActivity(tag.definition, argLists) as Promise<R[]>;
  },

  /**
   * Whether this execution runs the code behind patch `id`: true for an execution that reaches this point
   * after the patch was deployed (a marker is recorded in its journal), false for one that passed this point
   * before (its journal holds another call here). Put a change to the durable calls behind it:
   * `if (Stent.patched('fraud-check')) await this.acts.checkFraud(order)`.
   */
  patched(id: string): boolean {
    checkName('patch', id);
    return workflowScope('Stent.patched').patched(id);
  },

  /**
   * Once no execution that passed the patch point without the patch can still be replayed, the old branch
   * goes and `patched(id)` becomes `deprecatePatch(id)`: executions that recorded the marker still replay,
   * new ones record nothing. Remove it once those have finished too.
   */
  deprecatePatch(id: string): void {
    checkName('patch', id);
    workflowScope('Stent.deprecatePatch').deprecatePatch(id);
  },

  /**
   * Ends this execution and starts a new one of the same workflow with `args`, in the same transaction: a
   * workflow that loops for long keeps its journal short. The new execution is linked (`continuedFrom` /
   * `continuedAs`), takes the queue, priority, tags and parent of this one, and `waitFor` on any execution
   * of the chain follows it to the last. Never settles: `return Stent.continueAsNew(...)`.
   */
  continueAsNew(...args: unknown[]): Promise<never> {
    return workflowScope('Stent.continueAsNew').continueAsNew(args);
  },

  /** The current time, recorded: a replay sees the same value. */
  now(): Date {
    return workflowScope('Stent.now').now();
  },

  /** A random UUID, recorded. */
  uuid(): string {
    return workflowScope('Stent.uuid').uuid();
  },

  /** Math.random(), recorded. */
  random(): number {
    return workflowScope('Stent.random').random();
  },

  /** Id of the running execution. */
  executionId(): string {
    const scope = currentWorkflowScope() ?? currentActivityScope();
    if (!scope) throw new NotInWorkflowError('Stent.executionId', inEndedWorkflowRun());
    return scope.executionId;
  },

  setProgress(progress: unknown): void {
    workflowScope('Stent.setProgress').setProgress(progress);
  },

  incrementCounter(name: string, by = 1): void {
    workflowScope('Stent.incrementCounter').incrementCounter(name, by);
  },

  setState(key: string, value: unknown): void {
    workflowScope('Stent.setState').setState(key, value);
  },

  /**
   * Publishes a value under `key` for executor.getEvent (a later set replaces it). Recorded with the
   * journal step in one transaction, so a replay neither sets it again nor loses it.
   */
  setEvent(key: string, value: unknown): void {
    workflowScope('Stent.setEvent').setEvent(key, value);
  },

  /**
   * Appends a chunk to stream `key`, read with executor.readStream: each chunk is recorded with its
   * journal step, so readers see every chunk once, in order, across crashes and replays.
   */
  writeStream(key: string, chunk: unknown): void {
    workflowScope('Stent.writeStream').writeStream(key, chunk);
  },

  /** Ends stream `key`: its readers stop after the last chunk. (A stream also ends with its execution.) */
  closeStream(key: string): void {
    workflowScope('Stent.closeStream').closeStream(key);
  },

  /** Inside an activity: attempt number, execution id, AbortSignal and heartbeat(). */
  activity(): ActivityScope {
    const scope = currentActivityScope();
    if (!scope) throw new NotInWorkflowError('Stent.activity (inside an activity)');
    return scope;
  },

  /** True while running inside a workflow. */
  inWorkflow(): boolean {
    return currentWorkflowScope() !== undefined;
  },
};

/**
 * An item Stent.map may give bare: the first parameter of an activity that can be called with that one
 * argument, unless it is an array (an array item is always an argument list).
 */
export type LoneArgument<A extends unknown[]> = [A[0]] extends A ? (A[0] extends readonly unknown[] ? never : A[0]) : never;
