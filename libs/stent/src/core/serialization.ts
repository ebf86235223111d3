import { CodecMissingError, SerializationError } from './errors/index.js';
import { Result } from './api/result.js';
import { deserializeError, serializeError, type SerializedError } from './error-serialization.js';
import { EncodedPayload, isEnvelope } from './codec/payload-codec.js';

/**
 * Values that cross the database (arguments, results, signal payloads, progress, state) are stored as
 * JSON. Dates, errors, Results and `undefined` survive the round trip as objects tagged with a `__stent`
 * key; anything that would be silently lost (functions, symbols, bigints, cycles, Maps, Sets, ...) is
 * refused up front. A user object that has a `__stent` key of its own is stored wrapped (tag 'object'),
 * so no user value can ever read back as an engine value: only the encoder writes a bare tag.
 */
const TAG = '__stent';
type Tagged =
  | { [TAG]: 'undefined' }
  | { [TAG]: 'date'; iso: string }
  | { [TAG]: 'error'; error: SerializedError }
  | { [TAG]: 'result'; ok: boolean; value?: unknown; error?: unknown }
  | { [TAG]: 'object'; entries: Record<string, unknown> }
  /** A payload a codec encoded (see StentCodec), read by a process without that codec. */
  | { [TAG]: 'encoded'; key: string; data: string };

/** Own properties built by definition, so a key named '__proto__' stays an ordinary key. */
function objectOf(entries: Array<[string, unknown]>): Record<string, unknown> {
  return Object.fromEntries(entries);
}

const REFUSED_INSTANCES: Array<[abstract new (...args: never[]) => unknown, string]> = [
  [Map, 'a Map (convert it with Object.fromEntries)'],
  [Set, 'a Set (convert it to an array)'],
  [WeakMap, 'a WeakMap'],
  [WeakSet, 'a WeakSet'],
  [Promise, 'a Promise (await it first)'],
];

export function toStorable(value: unknown, path = '$', seen: Set<object> = new Set()): unknown {
  if (value === undefined) return { [TAG]: 'undefined' };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new SerializationError(path, `the number ${value} has no JSON form`);
    return value;
  }
  if (typeof value === 'bigint') throw new SerializationError(path, 'a bigint (convert it to a string)');
  if (typeof value === 'function') throw new SerializationError(path, 'a function');
  if (typeof value === 'symbol') throw new SerializationError(path, 'a symbol');
  const object = value as object;
  if (seen.has(object)) throw new SerializationError(path, 'a circular reference');
  if (object instanceof Date) {
    if (Number.isNaN(object.getTime())) throw new SerializationError(path, 'an invalid Date');
    return { [TAG]: 'date', iso: object.toISOString() };
  }
  if (object instanceof Error) return { [TAG]: 'error', error: serializeError(object) };
  for (const [type, label] of REFUSED_INSTANCES) {
    if (object instanceof type) throw new SerializationError(path, label);
  }
  seen.add(object);
  try {
    if (object instanceof Result) {
      return object.ok
        ? { [TAG]: 'result', ok: true, value: toStorable(object.value, `${path}.value`, seen) }
        : { [TAG]: 'result', ok: false, error: toStorable(object.error, `${path}.error`, seen) };
    }
    if (Array.isArray(object)) return object.map((item, i) => toStorable(item, `${path}[${i}]`, seen));
    if (ArrayBuffer.isView(object)) throw new SerializationError(path, 'binary data (encode it as base64)');
    const withJson = object as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === 'function') return toStorable(withJson.toJSON(), path, seen);
    const entries: Array<[string, unknown]> = [];
    for (const [key, item] of Object.entries(object)) {
      if (item !== undefined) entries.push([key, toStorable(item, `${path}.${key}`, seen)]);
    }
    const out = objectOf(entries);
    return Object.hasOwn(out, TAG) ? { [TAG]: 'object', entries: out } : out;
  } finally {
    seen.delete(object);
  }
}

export function fromStorable(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(fromStorable);
  const record = value as Record<string, unknown>;
  const tag = Object.hasOwn(record, TAG) ? record[TAG] : undefined;
  if (typeof tag === 'string') {
    const tagged = record as Tagged;
    switch (tagged[TAG]) {
      case 'undefined':
        return undefined;
      case 'date':
        return new Date(tagged.iso);
      case 'error':
        return deserializeError(tagged.error);
      case 'result':
        return tagged.ok ? Result.ok(fromStorable(tagged.value)) : Result.error(fromStorable(tagged.error));
      case 'object':
        return fromEntries(tagged.entries);
      case 'encoded':
        return new EncodedPayload(tagged.key);
    }
  }
  // Written before user objects with a '__stent' key were wrapped, or under a tag this version does not know.
  return fromEntries(record);
}

/** Decodes each property of an object separately: its keys are the user's, never a tag. */
function fromEntries(record: Record<string, unknown>): Record<string, unknown> {
  return objectOf(Object.entries(record).map(([key, item]) => [key, fromStorable(item)]));
}

/**
 * Reads a stored map of separately encoded values (custom state: each key set on its own), decoding
 * each value on its own so a user key named '__stent' is just a key.
 */
export function decodeEntries(text: string | null | undefined): Record<string, unknown> {
  if (text === null || text === undefined) return {};
  return fromEntries(JSON.parse(text) as Record<string, unknown>);
}

export function encode(value: unknown, path = '$'): string {
  return JSON.stringify(toStorable(value, path));
}

export function decode(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  return fromStorable(JSON.parse(text));
}

export function encodeError(error: unknown): string {
  return JSON.stringify(serializeError(error));
}

export function decodeError(text: string | null | undefined): Error | undefined {
  if (!text) return undefined;
  const stored = JSON.parse(text) as unknown;
  if (isEnvelope(stored)) return new CodecMissingError(stored.key);
  return deserializeError(stored as SerializedError);
}
