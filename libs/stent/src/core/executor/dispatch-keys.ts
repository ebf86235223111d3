import { parseDuration } from '../api/duration.js';
import type { DispatchOptions } from '../api/options.js';
import { checkName } from '../definitions/names.js';
import { ConfigurationError } from '../errors/index.js';
import type { DispatchTrace } from '../telemetry.js';
import type { DebounceRequest, DispatchKeyStore, NewExecution, SingletonRequest } from '../store/index.js';

/** The debounce or singleton part of a dispatch's options, checked. */
export interface DispatchKeys {
  debounce?: DebounceRequest;
  singleton?: SingletonRequest;
}

/** Checks `debounce` and `singleton` where dispatch is called; each problem is a ConfigurationError. */
export function dispatchKeys(what: string, options: DispatchOptions): DispatchKeys {
  const { debounce, singleton } = options;
  if (debounce === undefined && singleton === undefined) return {};
  if (debounce !== undefined && singleton !== undefined) throw new ConfigurationError(`${what}: give debounce or singleton, not both`);
  for (const other of ['idempotencyKey', 'executionId', 'transaction'] as const) {
    if (options[other] !== undefined) throw new ConfigurationError(`${what}: ${debounce ? 'debounce' : 'singleton'} cannot be combined with ${other}`);
  }
  if (debounce !== undefined) {
    if (debounce === null || typeof debounce !== 'object') throw new ConfigurationError(`${what}: debounce must be { key, delay, maxWait? }`);
    checkName('idempotency key', debounce.key);
    if (options.delay !== undefined) throw new ConfigurationError(`${what}: debounce sets the start itself; drop delay`);
    const delayMs = parseDuration(debounce.delay);
    const maxWaitMs = debounce.maxWait === undefined ? null : parseDuration(debounce.maxWait);
    if (maxWaitMs !== null && maxWaitMs < delayMs) throw new ConfigurationError(`${what}: debounce.maxWait must be at least debounce.delay`);
    return { debounce: { key: debounce.key, delayMs, maxWaitMs } };
  }
  const given = typeof singleton === 'string' ? { key: singleton } : singleton;
  if (given === null || typeof given !== 'object') throw new ConfigurationError(`${what}: singleton must be a key or { key, onConflict? }`);
  checkName('idempotency key', given.key);
  const onConflict = given.onConflict ?? 'wait';
  if (onConflict !== 'wait' && onConflict !== 'refuse') throw new ConfigurationError(`${what}: singleton.onConflict must be 'wait' or 'refuse'`);
  return { singleton: { key: given.key, wait: onConflict === 'wait' } };
}

/** Creates a debounced or singleton execution (or joins the key's execution); resolves to the id that runs. */
export async function createKeyed(store: DispatchKeyStore, execution: NewExecution, keys: DispatchKeys, now: number, trace: DispatchTrace | undefined): Promise<string> {
  try {
    const { id } = keys.debounce ? await store.createDebounced(execution, keys.debounce, now) : await store.createSingleton(execution, keys.singleton!, now);
    trace?.end({ executionId: id, created: id === execution.id });
    return id;
  } catch (error) {
    trace?.end({ error });
    throw error;
  }
}
