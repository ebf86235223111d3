import { InvalidNameError, type NameKind } from '../errors/index.js';

/**
 * The longest value of each kind the database columns hold (PostgreSQL counts characters; SQLite would
 * store anything, so the same limits are enforced here for both). Schema names follow PostgreSQL's
 * identifier limit in bytes.
 */
export const NAME_LIMITS: Readonly<Record<NameKind, number>> = {
  workflow: 255,
  activity: 255,
  queue: 128,
  tag: 255,
  signal: 255,
  'execution id': 128,
  'idempotency key': 255,
  schema: 63,
  // Recorded in the journal as the step name 'counter:<name>' / 'state:<key>' (255 characters).
  counter: 255 - 'counter:'.length,
  'state key': 255 - 'state:'.length,
  patch: 255 - 'patch:'.length,
  // Part of each tick's idempotency key 'stent:schedule:<name>:<epoch ms>' (255 characters).
  schedule: 200,
  // Recorded as 'event:<key>', and 'stream:<key>' / 'stream-close:<key>'.
  'event key': 255 - 'event:'.length,
  'stream key': 255 - 'stream-close:'.length,
  'flow key': 255,
};

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Refuses a name the databases cannot store, or would store as something else, with an InvalidNameError:
 * not a string, empty, too long for its column, a NUL character (PostgreSQL refuses it in text, and a
 * refused name in a shared statement would fail other executions' work too) or a lone UTF-16 surrogate
 * (written as U+FFFD, so the stored name would no longer match the registered one).
 */
export function checkName(kind: NameKind, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new InvalidNameError(kind, String(value), 'it must be a string');
  if (value === '') throw new InvalidNameError(kind, value, 'it must not be empty');
  const length = [...value].length;
  if (length > NAME_LIMITS[kind]) throw new InvalidNameError(kind, value, `it is ${length} characters long; at most ${NAME_LIMITS[kind]} fit`);
  if (value.includes('\u0000')) throw new InvalidNameError(kind, value, 'it contains a NUL character');
  if (LONE_SURROGATE.test(value)) throw new InvalidNameError(kind, value, 'it contains a lone UTF-16 surrogate (not valid Unicode)');
}

/** PostgreSQL schema names are interpolated into statements as quoted identifiers: plain identifiers only. */
export function checkSchemaName(schema: string | undefined): void {
  if (schema === undefined) return;
  checkName('schema', schema);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) throw new InvalidNameError('schema', schema, 'use letters, digits and underscores, not starting with a digit');
}
