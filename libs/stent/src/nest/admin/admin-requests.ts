import type { DispatchOptions, ExecutionListFilter, ExecutionListPage, ExecutionState } from '../../core/index.js';
import { InvalidRequestError } from './invalid-request.error.js';

/** A parsed query string: Express hands over strings, arrays of them for repeated keys, or objects. */
export type QueryInput = Record<string, unknown> | undefined;

function only(query: QueryInput, known: readonly string[]): Record<string, unknown> {
  const given = query ?? {};
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) throw new InvalidRequestError(key, `is not a query parameter of this route; use ${known.join(', ') || 'none'}`);
  }
  return given;
}

/** One text value of a query parameter (a repeated or nested parameter is refused). */
function text(query: Record<string, unknown>, key: string): string | undefined {
  const value = query[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidRequestError(key, 'must be given once, as text');
  return value;
}

/** A whole number in a query string (the engine checks its range and says which). */
function integer(query: Record<string, unknown>, key: string): number | undefined {
  const value = text(query, key);
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new InvalidRequestError(key, `must be a whole number, got '${value}'`);
  return Number(value);
}

/** Comma-separated or repeated: `state=failed,cancelled` or `state=failed&state=cancelled`. */
function list(query: Record<string, unknown>, key: string): string[] | undefined {
  const value = query[key];
  if (value === undefined) return undefined;
  const items = Array.isArray(value) ? value : [value];
  if (items.some((item) => typeof item !== 'string')) throw new InvalidRequestError(key, 'must be text (comma-separated or repeated)');
  return (items as string[]).flatMap((item) => item.split(',')).map((item) => item.trim()).filter((item) => item !== '');
}

export const EXECUTION_QUERY = ['state', 'workflow', 'queue', 'tag', 'parent', 'createdAfter', 'createdBefore', 'updatedAfter', 'updatedBefore', 'q', 'limit', 'offset', 'cursor'] as const;

/** GET /executions: filters (the names the README lists) and a page (limit with offset or cursor). */
export function executionListQuery(query: QueryInput): { filter: ExecutionListFilter; page: ExecutionListPage } {
  const given = only(query, EXECUTION_QUERY);
  const filter: ExecutionListFilter = {};
  const states = list(given, 'state');
  if (states !== undefined) filter.state = states as ExecutionState[];
  const set = <K extends keyof ExecutionListFilter>(field: K, value: ExecutionListFilter[K] | undefined) => {
    if (value !== undefined) filter[field] = value;
  };
  set('workflowName', text(given, 'workflow'));
  set('queue', text(given, 'queue'));
  set('tag', text(given, 'tag'));
  set('parentId', text(given, 'parent'));
  set('createdAfter', text(given, 'createdAfter'));
  set('createdBefore', text(given, 'createdBefore'));
  set('updatedAfter', text(given, 'updatedAfter'));
  set('updatedBefore', text(given, 'updatedBefore'));
  set('idPrefix', text(given, 'q'));
  const page: ExecutionListPage = {};
  const limit = integer(given, 'limit');
  const offset = integer(given, 'offset');
  const cursor = text(given, 'cursor');
  if (limit !== undefined) page.limit = limit;
  if (offset !== undefined) page.offset = offset;
  if (cursor !== undefined) page.cursor = cursor;
  return { filter, page };
}

/** limit and offset, and the route's own text filters. */
export function pageQuery(query: QueryInput, filters: readonly string[] = []): { limit?: number; offset?: number; filters: Record<string, string> } {
  const given = only(query, ['limit', 'offset', ...filters]);
  const values: Record<string, string> = {};
  for (const key of filters) {
    const value = text(given, key);
    if (value !== undefined) values[key] = value;
  }
  return { limit: integer(given, 'limit'), offset: integer(given, 'offset'), filters: values };
}

/** Routes that take no query parameters refuse any (a typo must not pass unnoticed). */
export function noQuery(query: QueryInput): void {
  only(query, []);
}

export function singleQuery(query: QueryInput, key: string): string | undefined {
  return text(only(query, [key]), key);
}

export function intQuery(query: QueryInput, key: string): number | undefined {
  return integer(only(query, [key]), key);
}

function objectBody(body: unknown, what: string): Record<string, unknown> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError('body', `must be a JSON object (${what}); send it with Content-Type: application/json`);
  }
  return body as Record<string, unknown>;
}

function knownKeys(body: Record<string, unknown>, known: readonly string[], where = 'body'): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) throw new InvalidRequestError(where === 'body' ? key : `${where}.${key}`, `is not a field of this request; use ${known.join(', ')}`);
  }
}

const DISPATCH_OPTIONS = ['queue', 'priority', 'tags', 'delay', 'idempotencyKey', 'maxDuration', 'executionId'] as const;

/** POST /executions: { workflow, args?, options? }. */
export function dispatchBody(body: unknown): { workflow: string; args: unknown[]; options: DispatchOptions } {
  const given = objectBody(body, '{ "workflow": "Name", "args": [...], "options": {...} }');
  knownKeys(given, ['workflow', 'args', 'options']);
  if (typeof given.workflow !== 'string' || given.workflow === '') throw new InvalidRequestError('workflow', 'must name a workflow (a non-empty string)');
  const args = given.args ?? [];
  if (!Array.isArray(args)) throw new InvalidRequestError('args', 'must be an array of the arguments of run()');
  const options = given.options ?? {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new InvalidRequestError('options', 'must be an object');
  knownKeys(options as Record<string, unknown>, DISPATCH_OPTIONS, 'options');
  const typed = options as Record<string, unknown>;
  for (const key of ['queue', 'idempotencyKey', 'executionId'] as const) {
    if (typed[key] !== undefined && typeof typed[key] !== 'string') throw new InvalidRequestError(`options.${key}`, 'must be a string');
  }
  if (typed.priority !== undefined && (typeof typed.priority !== 'number' || !Number.isInteger(typed.priority))) throw new InvalidRequestError('options.priority', 'must be an integer');
  if (typed.tags !== undefined && (!Array.isArray(typed.tags) || typed.tags.some((tag) => typeof tag !== 'string'))) throw new InvalidRequestError('options.tags', 'must be an array of strings');
  for (const key of ['delay', 'maxDuration'] as const) {
    if (typed[key] !== undefined && typeof typed[key] !== 'string' && typeof typed[key] !== 'number') throw new InvalidRequestError(`options.${key}`, "must be milliseconds or a duration such as '30s'");
  }
  return { workflow: given.workflow, args, options: typed as DispatchOptions };
}

/** POST /executions/:id/signals: { name, payload? }. */
export function signalBody(body: unknown): { name: string; payload: unknown } {
  const given = objectBody(body, '{ "name": "signal", "payload": ... }');
  knownKeys(given, ['name', 'payload']);
  if (typeof given.name !== 'string' || given.name === '') throw new InvalidRequestError('name', 'must name the signal (a non-empty string)');
  return { name: given.name, payload: given.payload };
}

/** POST /dead-letters/replay: { ids: [...] } or { all: true }. */
export function replayBody(body: unknown): { ids: string[] } | { all: true } {
  const given = objectBody(body, '{ "ids": ["..."] } or { "all": true }');
  knownKeys(given, ['ids', 'all']);
  if (given.all !== undefined && given.ids !== undefined) throw new InvalidRequestError('all', 'give either ids or all, not both');
  if (given.all !== undefined) {
    if (given.all !== true) throw new InvalidRequestError('all', 'must be true to replay every dead letter');
    return { all: true };
  }
  if (!Array.isArray(given.ids) || given.ids.length === 0 || given.ids.some((id) => typeof id !== 'string' || id === '')) {
    throw new InvalidRequestError('ids', 'must be a non-empty array of dead-letter ids');
  }
  return { ids: given.ids as string[] };
}

function position(given: Record<string, unknown>): number {
  const value = given.fromPosition;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new InvalidRequestError('fromPosition', 'must be a journal position (a whole number >= 0)');
  return value;
}

/** POST /executions/:id/fork: { fromPosition, args?, executionId? }. */
export function forkBody(body: unknown): { fromPosition: number; args?: unknown[]; executionId?: string } {
  const given = objectBody(body, '{ "fromPosition": 2, "args": [...], "executionId": "..." }');
  knownKeys(given, ['fromPosition', 'args', 'executionId']);
  if (given.args !== undefined && !Array.isArray(given.args)) throw new InvalidRequestError('args', 'must be an array of the arguments of run()');
  if (given.executionId !== undefined && (typeof given.executionId !== 'string' || given.executionId === '')) throw new InvalidRequestError('executionId', 'must be a non-empty string');
  return { fromPosition: position(given), args: given.args as unknown[] | undefined, executionId: given.executionId as string | undefined };
}

/** POST /executions/:id/rewind: { fromPosition }. */
export function rewindBody(body: unknown): { fromPosition: number } {
  const given = objectBody(body, '{ "fromPosition": 2 }');
  knownKeys(given, ['fromPosition']);
  return { fromPosition: position(given) };
}
