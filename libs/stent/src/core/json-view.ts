import { Result } from './api/result.js';
import { EncodedPayload } from './codec/payload-codec.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Plain JSON for what the executor reports (executions, journals, dead letters, stats, workers), as the
 * admin API and the CLI print it: dates as ISO strings, errors as { name, message, code, category, stack,
 * fields, cause }, Results as { ok, value | error, state }, undefined fields left out, bigints as strings,
 * payloads encoded by a codec this process lacks as "[encoded with key '<id>']".
 */
export function toJsonView(value: unknown): JsonValue {
  return view(value, new Set());
}

function view(value: unknown, seen: Set<object>): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return value.toString();
    case 'function':
    case 'symbol':
      return null;
  }
  const object = value as object;
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
  // A payload this process has no codec for: a marker, never the ciphertext.
  if (object instanceof EncodedPayload) return object.toJSON();
  if (seen.has(object)) return '[Circular]';
  seen.add(object);
  try {
    if (object instanceof Error) return errorView(object, seen);
    if (Result.isResult(object)) {
      const result = object as Result<unknown, unknown>;
      return withoutUndefined({ ok: result.ok, value: result.ok ? view(result.value, seen) : undefined, error: result.ok ? undefined : view(result.error, seen), state: result.state });
    }
    if (Array.isArray(object)) return object.map((item) => view(item, seen));
    if (object instanceof Map) return Object.fromEntries([...object].map(([key, item]) => [String(key), view(item, seen)]));
    if (object instanceof Set) return [...object].map((item) => view(item, seen));
    const out: Record<string, JsonValue> = {};
    for (const [key, item] of Object.entries(object)) {
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      out[key] = view(item, seen);
    }
    return out;
  } finally {
    seen.delete(object);
  }
}

function errorView(error: Error, seen: Set<object>): JsonValue {
  const fields: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(error)) {
    if (key === 'code' || key === 'name' || key === 'message' || key === 'stack' || key === 'cause' || item === undefined) continue;
    fields[key] = view(item, seen);
  }
  const coded = error as Error & { code?: unknown; category?: unknown };
  return withoutUndefined({
    name: error.name,
    message: error.message,
    code: typeof coded.code === 'string' ? coded.code : undefined,
    category: typeof coded.category === 'string' ? coded.category : undefined,
    stack: error.stack,
    fields: Object.keys(fields).length ? fields : undefined,
    cause: error.cause === undefined ? undefined : view(error.cause, seen),
  });
}

function withoutUndefined(record: Record<string, JsonValue | undefined>): JsonValue {
  const out: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(record)) if (item !== undefined) out[key] = item;
  return out;
}
