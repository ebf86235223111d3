import { randomUUID } from 'node:crypto';
import { parseOptionalDuration } from '../api/duration.js';
import type { DispatchOptions } from '../api/options.js';
import { checkRouting } from '../definitions/definitions.js';
import { executionFlowKeys } from '../definitions/flow-limits.js';
import { checkName } from '../definitions/names.js';
import { ConfigurationError } from '../errors/index.js';
import { encode } from '../serialization.js';
import type { NewExecution } from '../store/index.js';
import type { DispatchTrace, StentTelemetry } from '../telemetry.js';
import { dispatchKeys, type DispatchKeys } from './dispatch-keys.js';
import type { ResolvedWorkflow } from './workflow-resolution.js';

/** What a dispatch inserts, checked and encoded before anything is written. */
export interface DispatchPlan {
  execution: NewExecution;
  keys: DispatchKeys;
  delayMs: number;
  trace: DispatchTrace | undefined;
}

/**
 * Checks a dispatch's arguments and options against the workflow and builds its execution row: options
 * win over the workflow's defaults, the deadline counts from when it may start, flow keys come from the
 * arguments. Bad input throws here, with nothing written.
 */
export function planDispatch(workflow: ResolvedWorkflow, args: unknown, options: DispatchOptions, now: number, telemetry: StentTelemetry | undefined): DispatchPlan {
  const { name, queue, priority, tags, maxDurationMs, flow } = workflow;
  if (!Array.isArray(args)) throw new ConfigurationError(`dispatch(${name}): arguments must be given as an array`);
  const delayMs = parseOptionalDuration(options.delay) ?? 0;
  const maxDuration = parseOptionalDuration(options.maxDuration) ?? maxDurationMs;
  if (options === null || typeof options !== 'object') throw new ConfigurationError(`dispatch(${name}): options must be an object`);
  checkRouting(`dispatch(${name})`, options);
  const keys = dispatchKeys(`dispatch(${name})`, options);
  if (options.executionId !== undefined) checkName('execution id', options.executionId);
  if (options.idempotencyKey !== undefined) checkName('idempotency key', options.idempotencyKey);
  const encodedArgs = encode(args, `${name}(args)`);
  const flowKeys = executionFlowKeys(flow, args);
  const wakeAt = now + delayMs;
  const id = options.executionId ?? randomUUID();
  const trace = telemetry?.dispatch({ workflowName: name, executionId: id, queue: options.queue ?? queue, delayMs, parentId: null });
  const execution: NewExecution = {
    id,
    workflowName: name,
    args: encodedArgs,
    queue: options.queue ?? queue,
    priority: options.priority ?? priority ?? 0,
    tags: options.tags ?? tags,
    parentId: null,
    parentPosition: null,
    idempotencyKey: options.idempotencyKey ?? null,
    createdAt: now,
    wakeAt,
    deadlineAt: maxDuration === null ? null : wakeAt + maxDuration,
    maxDurationMs: maxDuration,
    traceContext: trace?.traceContext ?? null,
    ...flowKeys,
  };
  return { execution, keys, delayMs, trace };
}
