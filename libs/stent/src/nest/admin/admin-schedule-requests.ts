import type { BackfillRange, NewScheduleOptions, ScheduleOptions } from '../../core/index.js';
import { InvalidRequestError } from './invalid-request.error.js';

/** Request bodies of the schedule routes; the engine checks the values (InvalidScheduleError, 400). */

function objectBody(body: unknown, example: string): Record<string, unknown> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError('body', `must be a JSON object (${example}); send it with Content-Type: application/json`);
  }
  return body as Record<string, unknown>;
}

/** POST /schedules: { name, workflow, cron, timezone?, catchUp?, overlap?, args?, paused? }. */
export function newScheduleBody(body: unknown): NewScheduleOptions {
  const given = objectBody(body, '{ "name": "nightly", "workflow": "Report", "cron": "0 3 * * *" }');
  if (typeof given.workflow !== 'string' || given.workflow === '') throw new InvalidRequestError('workflow', 'must name a workflow (a non-empty string)');
  if (given.paused !== undefined && typeof given.paused !== 'boolean') throw new InvalidRequestError('paused', 'must be true or false');
  return given as unknown as NewScheduleOptions;
}

/** PATCH /schedules/:name: the options to change. */
export function scheduleChangesBody(body: unknown): Partial<ScheduleOptions> {
  return objectBody(body, '{ "cron": "*/5 * * * *" }') as Partial<ScheduleOptions>;
}

/** POST /schedules/:name/backfill: { from, to? } (ISO 8601 or epoch ms). */
export function backfillBody(body: unknown): BackfillRange {
  const given = objectBody(body, '{ "from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z" }');
  for (const key of Object.keys(given)) if (key !== 'from' && key !== 'to') throw new InvalidRequestError(key, 'is not a field of this request; use from, to');
  for (const key of ['from', 'to'] as const) {
    const value = given[key];
    if (value === undefined && key === 'to') continue;
    if (typeof value !== 'string' && typeof value !== 'number') throw new InvalidRequestError(key, 'must be an ISO 8601 time or epoch milliseconds');
  }
  return given as unknown as BackfillRange;
}
