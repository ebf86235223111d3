import { FINAL_STATES, type ExecutionState } from '../../api/result.js';
import { InvalidCursorError, InvalidFilterError } from '../../errors/index.js';
import type { ExecutionFilter, ExecutionPage, ExecutionPosition } from '../../store/index.js';
import { checkKeys, checkLimit, checkOffset, checkText } from './page-limits.js';

/** A time as a Date, epoch milliseconds, or an ISO 8601 string. */
export type TimeInput = Date | number | string;

/** What listExecutions selects; every field is optional and they combine with AND. */
export interface ExecutionListFilter {
  state?: ExecutionState | ExecutionState[];
  workflowName?: string;
  parentId?: string;
  queue?: string;
  /** Executions carrying this tag (exact match). */
  tag?: string;
  createdAfter?: TimeInput;
  createdBefore?: TimeInput;
  updatedAfter?: TimeInput;
  updatedBefore?: TimeInput;
  /** Ids starting with this text. */
  idPrefix?: string;
}

/**
 * One page: `limit` rows (default 50, at most MAX_PAGE_LIMIT) from `offset`, or after `cursor` (the
 * nextCursor of the previous page: stable while new executions arrive, and cheap however deep).
 */
export interface ExecutionListPage {
  limit?: number;
  offset?: number;
  cursor?: string;
}

export const EXECUTION_STATES: readonly ExecutionState[] = ['pending', 'running', ...FINAL_STATES];
const FILTER_FIELDS = ['state', 'workflowName', 'parentId', 'queue', 'tag', 'createdAfter', 'createdBefore', 'updatedAfter', 'updatedBefore', 'idPrefix'] as const;

function checkTime(field: string, value: unknown): number {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && /^\d+$/.test(value)) ms = Number(value);
  else if (typeof value === 'string') ms = Date.parse(value);
  else ms = Number.NaN;
  if (!Number.isSafeInteger(ms)) throw new InvalidFilterError(field, `must be a date (an ISO 8601 string, a Date or epoch milliseconds), got ${JSON.stringify(value) ?? String(value)}`);
  return ms;
}

function checkStates(value: unknown): ExecutionState[] {
  const states = Array.isArray(value) ? value : [value];
  if (states.length === 0) throw new InvalidFilterError('state', 'must name at least one state');
  for (const state of states) {
    if (!EXECUTION_STATES.includes(state as ExecutionState)) throw new InvalidFilterError('state', `unknown state ${JSON.stringify(state)}; use ${EXECUTION_STATES.join(', ')}`);
  }
  return states as ExecutionState[];
}

/** The store's filter for a caller's filter, or an InvalidFilterError naming the field that is wrong. */
export function executionFilter(input: ExecutionListFilter | undefined): ExecutionFilter {
  const given = checkKeys('filter', input, FILTER_FIELDS);
  const filter: ExecutionFilter = {};
  if (given.state !== undefined) filter.state = checkStates(given.state);
  if (given.workflowName !== undefined) filter.workflowName = checkText('workflowName', given.workflowName);
  if (given.parentId !== undefined) filter.parentId = checkText('parentId', given.parentId, 128);
  if (given.queue !== undefined) filter.queue = checkText('queue', given.queue, 128);
  if (given.tag !== undefined) filter.tag = checkText('tag', given.tag);
  if (given.idPrefix !== undefined) filter.idPrefix = checkText('idPrefix', given.idPrefix, 128);
  for (const field of ['createdAfter', 'createdBefore', 'updatedAfter', 'updatedBefore'] as const) {
    if (given[field] !== undefined) filter[field] = checkTime(field, given[field]);
  }
  return filter;
}

export function encodeCursor(position: ExecutionPosition): string {
  return Buffer.from(JSON.stringify([1, position.createdAt, position.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: unknown): ExecutionPosition {
  if (typeof cursor !== 'string' || cursor === '') throw new InvalidCursorError(String(cursor));
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 3 && decoded[0] === 1 && Number.isSafeInteger(decoded[1]) && typeof decoded[2] === 'string' && !decoded[2].includes('\u0000')) {
      return { createdAt: decoded[1] as number, id: decoded[2] };
    }
  } catch {
    // not base64 JSON: reported below
  }
  throw new InvalidCursorError(cursor);
}

/** The store's page for a caller's page (limit, then offset or cursor, not both). */
export function executionPage(input: ExecutionListPage | undefined): ExecutionPage {
  const given = checkKeys('page', input, ['limit', 'offset', 'cursor']);
  const limit = checkLimit(given.limit);
  const offset = checkOffset(given.offset);
  if (given.cursor === undefined || given.cursor === null) return { limit, offset };
  if (offset !== 0) throw new InvalidFilterError('offset', 'give either an offset or a cursor, not both');
  return { limit, after: decodeCursor(given.cursor) };
}
