import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock/clock.js';
import { checkName } from '../definitions/names.js';
import { ActivityFailedError, ConfigurationError, ExecutionFinishedError, ExecutionNotFoundError } from '../errors/index.js';
import { decodeError, encode } from '../serialization.js';
import type { ControlStore } from '../store/index.js';

export interface ForkOptions {
  /** Steps before this journal position are reused; the workflow runs anew from it. */
  fromPosition: number;
  /** The new execution's arguments. Default: the source's. */
  args?: unknown[];
  /** Id of the new execution (must be unused). Default: a new UUID. */
  executionId?: string;
}

/** Going back in an execution's history: retry (of a failed one), fork and rewind. */

/**
 * Starts a new execution of the same workflow whose journal is the source's up to `fromPosition`: the
 * recorded outcomes before it are replayed (activities do not run again, children started there are
 * reused), everything from it runs anew, with new arguments if given (a what-if, or a fixed deploy).
 */
export async function forkExecution(store: ControlStore, clock: Clock, sourceId: string, options: ForkOptions): Promise<string> {
  if (typeof sourceId !== 'string' || sourceId === '') throw new ExecutionNotFoundError(String(sourceId));
  if (options === null || typeof options !== 'object') throw new ConfigurationError('fork: options must be an object with fromPosition');
  if (options.args !== undefined && !Array.isArray(options.args)) throw new ConfigurationError('fork: args must be given as an array');
  const newId = options.executionId ?? randomUUID();
  checkName('execution id', newId);
  const args = options.args === undefined ? null : encode(options.args, 'fork(args)');
  await store.forkExecution({ sourceId, fromPosition: options.fromPosition, newId, args, now: clock.now() });
  return newId;
}

/**
 * Runs a finished execution again from `fromPosition`: the steps from there on are dropped as if never
 * recorded (children they started deleted, signals they took handed back) and it replays the rest.
 */
export async function rewindExecution(store: ControlStore, clock: Clock, executionId: string, fromPosition: number): Promise<void> {
  if (typeof executionId !== 'string' || executionId === '') throw new ExecutionNotFoundError(String(executionId));
  await store.rewindExecution(executionId, fromPosition, clock.now());
}

/** Retries a failed execution: replays its latest dead-lettered task, or replays it from its journal. */
export async function retryExecution(store: ControlStore, clock: Clock, executionId: string): Promise<void> {
  const record = await store.getExecution(executionId);
  if (!record) throw new ExecutionNotFoundError(executionId);
  if (record.state !== 'failed') throw new ExecutionFinishedError(executionId, `${record.state}: only failed executions can be retried`);
  // The step whose failure the workflow let through is retried; any other failure is replayed from the journal.
  // (In this execution, or in a child execution whose failure it let through: the chain is revived.)
  const cause = decodeError(record.error);
  const failedAt =
    cause instanceof ActivityFailedError && typeof cause.position === 'number' && typeof cause.executionId === 'string'
      ? { executionId: cause.executionId, position: cause.position }
      : undefined;
  const retried = failedAt !== undefined && (await store.retryFrom(executionId, failedAt, clock.now()));
  if (!retried) await store.reviveExecution(executionId, clock.now());
}
