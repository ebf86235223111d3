import { ConfigurationError } from '../errors/index.js';
import { parseDuration } from '../api/duration.js';
import type { ConcurrencyOptions, RateLimitOptions } from '../api/options.js';
import { checkName } from './names.js';

/** What flow control an activity or workflow asks for (activity options, workflow options). */
export interface FlowOptions {
  concurrency?: ConcurrencyOptions;
  rateLimit?: RateLimitOptions;
}

/** An activity's or workflow's flow control, resolved: a per-key concurrency cap and a fixed-window rate limit. */
export interface FlowLimits {
  concurrency: { key: (args: unknown[]) => string; limit: number } | null;
  rate: { limit: number; perMs: number; key: ((args: unknown[]) => string) | null } | null;
}

function wholeAtLeastOne(what: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1) throw new ConfigurationError(`${what} must be a whole number >= 1`);
  return value as number;
}

/** Method options win over class options, each of concurrency and rateLimit as a whole. */
export function resolveFlowLimits(what: string, own: FlowOptions, options: FlowOptions = {}): FlowLimits {
  const concurrency = own.concurrency ?? options.concurrency;
  const rate = own.rateLimit ?? options.rateLimit;
  let resolvedConcurrency: FlowLimits['concurrency'] = null;
  if (concurrency !== undefined) {
    if (concurrency === null || typeof concurrency !== 'object') throw new ConfigurationError(`${what}: concurrency must be an object { key, limit }`);
    if (typeof concurrency.key !== 'function') throw new ConfigurationError(`${what}: concurrency.key must be a function of the arguments`);
    resolvedConcurrency = { key: concurrency.key, limit: wholeAtLeastOne(`${what}: concurrency.limit`, concurrency.limit) };
  }
  let resolvedRate: FlowLimits['rate'] = null;
  if (rate !== undefined) {
    if (rate === null || typeof rate !== 'object') throw new ConfigurationError(`${what}: rateLimit must be an object { limit, per, key? }`);
    if (rate.key !== undefined && typeof rate.key !== 'function') throw new ConfigurationError(`${what}: rateLimit.key must be a function of the arguments`);
    const perMs = parseDuration(rate.per);
    if (perMs < 1) throw new ConfigurationError(`${what}: rateLimit.per must be at least 1ms`);
    resolvedRate = { limit: wholeAtLeastOne(`${what}: rateLimit.limit`, rate.limit), perMs, key: rate.key ?? null };
  }
  return { concurrency: resolvedConcurrency, rate: resolvedRate };
}

/** Whether the activity's claims go through the flow-limited path. */
export function hasFlowLimits(flow: FlowLimits): boolean {
  return flow.concurrency !== null || flow.rate !== null;
}

/**
 * The keys of one call, computed when the call is recorded so claims can count by them. A rate limit
 * without a key function shares one window: its key is ''.
 */
export function flowKeys(flow: FlowLimits, args: unknown[]): { concurrencyKey: string | null; rateKey: string | null } {
  const concurrencyKey = flow.concurrency ? flow.concurrency.key(args) : null;
  if (concurrencyKey !== null) checkName('flow key', concurrencyKey);
  const rateKey = flow.rate ? (flow.rate.key ? flow.rate.key(args) : '') : null;
  if (flow.rate?.key) checkName('flow key', rateKey);
  return { concurrencyKey, rateKey };
}

/**
 * The keys a new execution of a workflow carries (null without flow limits). A key function that throws
 * or returns something that is not a name fails the dispatch, like a bad argument would.
 */
export function executionFlowKeys(flow: FlowLimits | undefined, args: unknown[]): { concurrencyKey: string | null; rateKey: string | null } {
  if (!flow || !hasFlowLimits(flow)) return { concurrencyKey: null, rateKey: null };
  return flowKeys(flow, args);
}
