import { InvalidFilterError } from '../../errors/index.js';

/** The most rows one page of any listing returns (the admin API and the CLI use the same cap). */
export const MAX_PAGE_LIMIT = 1000;
export const DEFAULT_PAGE_LIMIT = 50;

export function checkLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_PAGE_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new InvalidFilterError('limit', `must be a whole number from 1 to ${MAX_PAGE_LIMIT}, got ${JSON.stringify(limit) ?? String(limit)}`);
  }
  return limit;
}

export function checkOffset(offset: unknown): number {
  if (offset === undefined) return 0;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidFilterError('offset', `must be a whole number >= 0, got ${JSON.stringify(offset) ?? String(offset)}`);
  }
  return offset;
}

/** A name-like filter value: a non-empty string the databases can compare (no NUL, within column sizes). */
export function checkText(field: string, value: unknown, max = 255): string {
  if (typeof value !== 'string' || value === '') throw new InvalidFilterError(field, 'must be a non-empty string');
  if (value.includes('\u0000')) throw new InvalidFilterError(field, 'must not contain a NUL character');
  if ([...value].length > max) throw new InvalidFilterError(field, `must be at most ${max} characters`);
  return value;
}

/** Rejects keys the listing does not know, so a typo does not silently list everything. */
export function checkKeys(what: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidFilterError(what, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new InvalidFilterError(key, `unknown ${what} field; use ${known.join(', ')}`);
  }
  return value as Record<string, unknown>;
}
