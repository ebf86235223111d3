import { ConfigurationError, InvalidNameError } from '../errors/index.js';
import { checkName, NAME_LIMITS } from './names.js';
import { parseOptionalDuration } from '../api/duration.js';
import { installDurableActivity, installDurableRun } from './durable-method.js';
import { resolveRetryPolicy, type RetryPolicy } from './retry-policy.js';
import type { ActivityOptions, WorkflowOptions } from '../api/options.js';
import { scheduleSettings, type ScheduleSettings } from '../schedules/schedule-settings.js';
import { resolveFlowLimits, type FlowLimits } from './flow-limits.js';

/**
 * Class-level metadata of workflows and activities, kept on the class itself so the engine
 * works with or without Nest. The Nest decorators are thin wrappers over these functions.
 */
export const WORKFLOW_DEFINITION = Symbol.for('stent.workflow');
export const ACTIVITY_DEFINITION = Symbol.for('stent.activity');
const METHOD_OPTIONS = Symbol.for('stent.activity.methodOptions');

export type AnyClass = abstract new (...args: any[]) => object;

export interface ActivityCachePolicy {
  ttlMs: number | null;
  key: ((...args: any[]) => string) | null;
  version: string;
}

export interface ResolvedActivityOptions {
  name: string;
  /** Set when results are reused across executions (idempotent / cached). */
  cache: ActivityCachePolicy | null;
  retry: RetryPolicy;
  timeoutMs: number | null;
  maxConcurrent: number | null;
  /** Per-key concurrency and rate limits (null fields when the activity has none). */
  flow: FlowLimits;
  queue: string;
  /** Null: inherit the priority of the execution that calls it. */
  priority: number | null;
  tags: string[];
}

export interface ActivityMethodDefinition extends ResolvedActivityOptions {
  methodName: string;
  /** The undecorated method: what a worker runs. */
  original: (...args: unknown[]) => unknown;
}

export interface ActivityClassDefinition {
  target: AnyClass;
  methods: ActivityMethodDefinition[];
}

export interface WorkflowDefinition {
  target: AnyClass;
  name: string;
  maxDurationMs: number | null;
  queue: string;
  /** Null: 0 for a dispatch, the parent's priority for a child. */
  priority: number | null;
  tags: string[];
  /** The code's version and the oldest it replays (both null: unversioned, it takes every execution). */
  version: number | null;
  replaysFrom: number | null;
  /** Set when it runs on a schedule of its own (named after the workflow). */
  schedule: ScheduleSettings | null;
  /** Per-key concurrency and a start rate limit (see WorkflowOptions.concurrency, rateLimit). */
  flow: FlowLimits;
  original: (...args: unknown[]) => unknown;
}

const LIFECYCLE_METHODS = new Set([
  'constructor',
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

/**
 * Refuses routing options no worker could ever match or the database could not store (an empty or
 * over-long queue, tags that are not a list of names).
 */
export function checkRouting(what: string, options: { queue?: string; priority?: number; tags?: string[]; maxConcurrent?: number }): void {
  if (options.queue !== undefined) checkName('queue', options.queue);
  if (options.priority !== undefined && !Number.isInteger(options.priority)) {
    throw new ConfigurationError(`${what}: priority must be an integer`);
  }
  if (options.tags !== undefined && (!Array.isArray(options.tags) || options.tags.some((t) => typeof t !== 'string'))) {
    throw new ConfigurationError(`${what}: tags must be an array of strings`);
  }
  for (const tag of options.tags ?? []) checkName('tag', tag);
  if (options.maxConcurrent !== undefined && (!Number.isInteger(options.maxConcurrent) || options.maxConcurrent < 1)) {
    throw new ConfigurationError(`${what}: maxConcurrent must be a whole number >= 1`);
  }
}

function cachePolicy(own: ActivityOptions, options: ActivityOptions): ActivityCachePolicy | null {
  const cached = own.cached ?? options.cached;
  const idempotent = own.idempotent ?? options.idempotent;
  if (!cached && !idempotent) return null;
  const ttl = typeof cached === 'object' ? parseOptionalDuration(cached.ttl) ?? null : null;
  const key = own.key ?? options.key ?? null;
  if (key !== null && typeof key !== 'function') throw new ConfigurationError('activity key must be a function of the arguments');
  return { ttlMs: ttl, key, version: String(own.version ?? options.version ?? 1) };
}

/** Options on one method of an activity class (applied before the class-level definition). */
export function setActivityMethodOptions(prototype: object, methodName: string, options: ActivityOptions): void {
  checkRouting(`${prototype.constructor.name}.${methodName}`, options);
  parseOptionalDuration(options.timeout);
  resolveRetryPolicy(options.retry);
  const existing: Map<string, ActivityOptions> = (prototype as Record<symbol, Map<string, ActivityOptions>>)[METHOD_OPTIONS] ?? new Map();
  existing.set(methodName, options);
  Object.defineProperty(prototype, METHOD_OPTIONS, { value: existing, configurable: true });
}

/** The activity's durable name fits its columns, and so does the cache key built from it (name:version:sha256). */
function checkActivityName(definition: ActivityMethodDefinition): void {
  checkName('activity', definition.name);
  const cache = definition.cache;
  if (cache && !cache.key) {
    const keyLength = [...definition.name].length + 1 + [...cache.version].length + 1 + 64;
    if (keyLength > NAME_LIMITS.activity) {
      throw new InvalidNameError('activity', definition.name, `with version '${cache.version}' its cache key would be ${keyLength} characters long; at most ${NAME_LIMITS.activity} fit (shorten the name or give a key function)`);
    }
  }
}

function publicMethodNames(prototype: object): string[] {
  return Object.getOwnPropertyNames(prototype).filter((key) => {
    if (LIFECYCLE_METHODS.has(key) || key.startsWith('_')) return false;
    const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
    return typeof descriptor?.value === 'function';
  });
}

/**
 * Marks every public method of `target` as an activity. Inside a running workflow a call to one
 * of them becomes a durable step; anywhere else it is a plain method call.
 */
export function defineActivity(target: AnyClass, options: ActivityOptions = {}): ActivityClassDefinition {
  checkRouting(target.name, options);
  const classTimeout = parseOptionalDuration(options.timeout) ?? null;
  const classRetry = resolveRetryPolicy(options.retry);
  const prototype = target.prototype as Record<string | symbol, unknown>;
  const methodOptions: Map<string, ActivityOptions> = (prototype[METHOD_OPTIONS] as Map<string, ActivityOptions>) ?? new Map();
  const methods: ActivityMethodDefinition[] = [];
  for (const methodName of publicMethodNames(prototype)) {
    const own = methodOptions.get(methodName) ?? {};
    const original = prototype[methodName] as (...args: unknown[]) => unknown;
    const definition: ActivityMethodDefinition = {
      methodName,
      original,
      name: own.name ?? (options.name ? `${options.name}.${methodName}` : `${target.name}.${methodName}`),
      retry: own.retry ? resolveRetryPolicy(own.retry, classRetry) : classRetry,
      timeoutMs: parseOptionalDuration(own.timeout) ?? classTimeout,
      maxConcurrent: own.maxConcurrent ?? options.maxConcurrent ?? null,
      flow: resolveFlowLimits(`${target.name}.${methodName}`, own, options),
      queue: own.queue ?? options.queue ?? 'default',
      priority: own.priority ?? options.priority ?? null,
      tags: own.tags ?? options.tags ?? [],
      cache: cachePolicy(own, options),
    };
    checkActivityName(definition);
    installDurableActivity(prototype, definition);
    methods.push(definition);
  }
  if (methods.length === 0) throw new ConfigurationError(`Activity class ${target.name} has no public methods`);
  const definition: ActivityClassDefinition = { target, methods };
  Object.defineProperty(target, ACTIVITY_DEFINITION, { value: definition, configurable: true });
  return definition;
}

/**
 * Marks `target` as a workflow with the entry method run(). Calling run() of a workflow from inside
 * another running workflow starts it as a child execution and awaits its result.
 */
export function defineWorkflow(target: AnyClass, options: WorkflowOptions = {}): WorkflowDefinition {
  checkRouting(target.name, options);
  const prototype = target.prototype as Record<string | symbol, unknown>;
  const original = prototype['run'];
  if (typeof original !== 'function') throw new ConfigurationError(`Workflow class ${target.name} must have a run() method`);
  const name = options.name ?? target.name;
  checkName('workflow', name);
  const definition: WorkflowDefinition = {
    target,
    name,
    maxDurationMs: parseOptionalDuration(options.maxDuration) ?? null,
    queue: options.queue ?? 'default',
    priority: options.priority ?? null,
    tags: options.tags ?? [],
    ...workflowVersions(name, options),
    schedule: options.schedule === undefined ? null : scheduleSettings(options.schedule),
    flow: resolveFlowLimits(`Workflow ${name}`, options),
    original: original as (...args: unknown[]) => unknown,
  };
  installDurableRun(prototype, definition);
  Object.defineProperty(target, WORKFLOW_DEFINITION, { value: definition, configurable: true });
  return definition;
}

/** The version range a workflow's code replays, refused when it is not whole numbers in order. */
function workflowVersions(name: string, options: WorkflowOptions): { version: number | null; replaysFrom: number | null } {
  const { version, replaysFrom } = options;
  if (version === undefined) {
    if (replaysFrom !== undefined) throw new ConfigurationError(`Workflow ${name}: replaysFrom needs a version`);
    return { version: null, replaysFrom: null };
  }
  const whole = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0;
  if (!whole(version)) throw new ConfigurationError(`Workflow ${name}: version must be a whole number >= 0`);
  if (replaysFrom !== undefined && (!whole(replaysFrom) || replaysFrom > version)) {
    throw new ConfigurationError(`Workflow ${name}: replaysFrom must be a whole number from 0 to its version (${version})`);
  }
  return { version, replaysFrom: replaysFrom ?? version };
}

export function getWorkflowDefinition(target: unknown): WorkflowDefinition | undefined {
  return typeof target === 'function' ? ((target as unknown as Record<symbol, WorkflowDefinition>)[WORKFLOW_DEFINITION] ?? undefined) : undefined;
}

export function getActivityDefinition(target: unknown): ActivityClassDefinition | undefined {
  return typeof target === 'function' ? ((target as unknown as Record<symbol, ActivityClassDefinition>)[ACTIVITY_DEFINITION] ?? undefined) : undefined;
}
