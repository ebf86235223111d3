import type { Type } from '@nestjs/common';

interface QueryDoc {
  name: string;
  description: string;
  type?: 'string' | 'integer';
}

interface RouteDoc {
  summary: string;
  params?: string[];
  query?: QueryDoc[];
  body?: Record<string, unknown>;
  /** Status codes besides the success one. */
  errors: number[];
  success: number;
}

const page: QueryDoc[] = [
  { name: 'limit', description: 'Rows per page (1-1000, default 50)', type: 'integer' },
  { name: 'offset', description: 'Rows to skip', type: 'integer' },
];

/** What each admin route does, for the OpenAPI document. */
export const ADMIN_ROUTE_DOCS: Record<string, RouteDoc> = {
  listExecutions: {
    summary: 'List executions (newest first) with filters; page by offset or cursor',
    query: [
      { name: 'state', description: 'One or more states, comma-separated: pending, running, completed, failed, cancelled, timed_out' },
      { name: 'workflow', description: 'Workflow name' },
      { name: 'queue', description: 'Queue' },
      { name: 'tag', description: 'Executions carrying this tag' },
      { name: 'parent', description: 'Parent execution id' },
      { name: 'createdAfter', description: 'ISO 8601 date or epoch ms (inclusive)' },
      { name: 'createdBefore', description: 'ISO 8601 date or epoch ms (exclusive)' },
      { name: 'updatedAfter', description: 'ISO 8601 date or epoch ms (inclusive)' },
      { name: 'updatedBefore', description: 'ISO 8601 date or epoch ms (exclusive)' },
      { name: 'q', description: 'Id prefix' },
      ...page,
      { name: 'cursor', description: 'nextCursor of the previous page' },
    ],
    errors: [400],
    success: 200,
  },
  getExecution: { summary: 'One execution: arguments, result or error, progress, counters, state, parent, children, timings, attempts', params: ['id'], errors: [404], success: 200 },
  getJournal: { summary: "An execution's journal: every step with kind, name, state, attempts, timings, error", params: ['id'], query: page, errors: [400, 404], success: 200 },
  getEvent: {
    summary: 'The value an execution set with Stent.setEvent (504 STENT_EVENT_TIMEOUT if not set within timeout; 404 STENT_EVENT_NOT_SET if it ended without)',
    params: ['id', 'key'],
    query: [{ name: 'timeout', description: "How long to wait for it (default 0, at most '60s')" }],
    errors: [400, 404, 504],
    success: 200,
  },
  readStream: {
    summary: "An execution's stream as server-sent events (text/event-stream): one message per chunk (id: its index, data: JSON), then an 'end' event",
    params: ['id', 'key'],
    query: [{ name: 'from', description: 'Index of the first chunk (default 0; a Last-Event-ID header resumes after it)', type: 'integer' }],
    errors: [400, 404],
    success: 200,
  },
  listDeadLetters: {
    summary: 'Dead letters (tasks that failed for good), newest first',
    query: [{ name: 'executionId', description: 'Of this execution' }, { name: 'name', description: 'Activity or workflow name' }, ...page],
    errors: [400],
    success: 200,
  },
  getDeadLetter: { summary: 'One dead letter with its execution', params: ['id'], errors: [404], success: 200 },
  listDefinitions: { summary: 'Workflows and activities registered in this process, with their options, and what the live workers run (served)', errors: [], success: 200 },
  listWorkers: { summary: 'Worker processes: live, and stopped or lost recently, with what they serve', query: [{ name: 'recent', description: "How far back stopped workers are listed (default '1h')" }], errors: [400], success: 200 },
  stats: { summary: 'Counts by state, backlog per queue, dead letters, throughput per minute, workers', query: [{ name: 'minutes', description: 'Minutes of throughput (1-1440, default 15)', type: 'integer' }], errors: [400], success: 200 },
  dispatch: {
    summary: 'Dispatch a workflow by name',
    body: {
      type: 'object',
      required: ['workflow'],
      properties: {
        workflow: { type: 'string' },
        args: { type: 'array', items: {} },
        options: {
          type: 'object',
          properties: {
            queue: { type: 'string' },
            priority: { type: 'integer' },
            tags: { type: 'array', items: { type: 'string' } },
            delay: { type: 'string', example: '30s' },
            maxDuration: { type: 'string', example: '1h' },
            idempotencyKey: { type: 'string' },
            executionId: { type: 'string' },
          },
        },
      },
    },
    errors: [400, 404, 409],
    success: 201,
  },
  cancel: { summary: 'Cancel an execution and its children', params: ['id'], errors: [404, 409], success: 200 },
  signal: {
    summary: 'Send a signal to an execution',
    params: ['id'],
    body: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, payload: {} } },
    errors: [400, 404, 409],
    success: 202,
  },
  retry: { summary: 'Retry a failed execution', params: ['id'], errors: [404, 409], success: 200 },
  resume: { summary: 'Resume a failed execution (same as retry)', params: ['id'], errors: [404, 409], success: 200 },
  fork: {
    summary: 'Fork an execution: a new one reuses its journal before fromPosition and runs the rest anew',
    params: ['id'],
    body: { type: 'object', required: ['fromPosition'], properties: { fromPosition: { type: 'integer' }, args: { type: 'array', items: {} }, executionId: { type: 'string' } } },
    errors: [400, 404, 409],
    success: 201,
  },
  rewind: {
    summary: 'Rewind a finished execution to fromPosition: the steps from there on run again, in place',
    params: ['id'],
    body: { type: 'object', required: ['fromPosition'], properties: { fromPosition: { type: 'integer' } } },
    errors: [400, 404, 409],
    success: 200,
  },
  replayMany: {
    summary: 'Replay chosen dead letters ({ ids }) or all of them ({ all: true })',
    body: { type: 'object', properties: { ids: { type: 'array', items: { type: 'string' } }, all: { type: 'boolean' } } },
    errors: [400],
    success: 200,
  },
  replay: { summary: 'Replay one dead letter: its execution resumes from the failed step', params: ['id'], errors: [404, 409], success: 200 },
  discard: { summary: 'Discard a dead letter', params: ['id'], errors: [404], success: 200 },
  listSchedules: { summary: 'Schedules (cron workflows): expression, time zone, policies, state, next and last tick', errors: [400], success: 200 },
  getSchedule: { summary: 'One schedule', params: ['name'], errors: [404], success: 200 },
  createSchedule: {
    summary: 'Create a schedule that starts a workflow at each tick of a cron expression',
    body: {
      type: 'object',
      required: ['name', 'workflow', 'cron'],
      properties: {
        name: { type: 'string' },
        workflow: { type: 'string' },
        cron: { type: 'string', example: '0 * * * *' },
        timezone: { type: 'string', example: 'Europe/Berlin' },
        catchUp: { oneOf: [{ type: 'string', enum: ['skip'] }, { type: 'integer' }] },
        overlap: { type: 'string', enum: ['skip', 'allow'] },
        args: { type: 'array', items: {} },
        paused: { type: 'boolean' },
      },
    },
    errors: [400, 404, 409],
    success: 201,
  },
  updateSchedule: {
    summary: "Change a schedule's expression, time zone, policies or arguments",
    params: ['name'],
    body: { type: 'object', properties: { cron: { type: 'string' }, timezone: { type: 'string' }, catchUp: {}, overlap: { type: 'string' }, args: { type: 'array', items: {} } } },
    errors: [400, 404],
    success: 200,
  },
  pauseSchedule: { summary: 'Pause a schedule (ticks that pass while paused do not run)', params: ['name'], errors: [404], success: 200 },
  resumeSchedule: { summary: 'Resume a schedule from its next tick', params: ['name'], errors: [404], success: 200 },
  triggerSchedule: { summary: "Start one run of a schedule's workflow now", params: ['name'], errors: [404], success: 201 },
  backfillSchedule: {
    summary: 'Start the runs of past ticks that have none (at most 1000 ticks)',
    params: ['name'],
    body: { type: 'object', required: ['from'], properties: { from: { type: 'string', example: '2030-01-01T00:00:00Z' }, to: { type: 'string' } } },
    errors: [400, 404],
    success: 200,
  },
  listPaused: { summary: 'Paused queues and workflow types', errors: [400], success: 200 },
  pauseQueue: { summary: 'Pause a queue: no worker claims its work (running work finishes)', params: ['name'], errors: [400], success: 200 },
  resumeQueue: { summary: 'Resume a paused queue', params: ['name'], errors: [400], success: 200 },
  pauseWorkflow: { summary: 'Pause a workflow type: no worker starts or resumes its executions (running ones go on)', params: ['name'], errors: [400], success: 200 },
  resumeWorkflow: { summary: 'Resume a paused workflow type', params: ['name'], errors: [400], success: 200 },
  deleteSchedule: { summary: 'Delete a schedule (the runs it started stay)', params: ['name'], errors: [404], success: 200 },
};

type Decorator = (...args: unknown[]) => (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => unknown;

/**
 * Describes the controllers' routes with @nestjs/swagger's decorators when the application has that
 * package (an optional peer): loaded here, at startup, so the module works without it.
 */
export async function describeAdminRoutes(controllers: Array<Type<unknown>>, tag: string, security: string[] = []): Promise<boolean> {
  let swagger: Record<string, Decorator>;
  try {
    swagger = (await import('@nestjs/swagger' as string)) as Record<string, Decorator>;
  } catch {
    return false;
  }
  for (const controller of controllers) {
    swagger.ApiTags!(tag)(controller);
    for (const scheme of security) swagger.ApiSecurity!(scheme)(controller);
    const prototype = controller.prototype as Record<string, unknown>;
    for (const method of Object.getOwnPropertyNames(prototype)) {
      if (!Object.hasOwn(ADMIN_ROUTE_DOCS, method)) continue;
      const doc = ADMIN_ROUTE_DOCS[method]!;
      const descriptor = Object.getOwnPropertyDescriptor(prototype, method)!;
      const apply = (decorator: ReturnType<Decorator>) => decorator(prototype, method, descriptor);
      apply(swagger.ApiOperation!({ summary: doc.summary, operationId: `stent_${method}` }));
      for (const name of doc.params ?? []) apply(swagger.ApiParam!({ name, type: 'string' }));
      for (const query of doc.query ?? []) apply(swagger.ApiQuery!({ name: query.name, description: query.description, required: false, type: query.type === 'integer' ? Number : String }));
      if (doc.body) apply(swagger.ApiBody!({ schema: doc.body }));
      apply(swagger.ApiResponse!({ status: doc.success, description: 'JSON' }));
      for (const status of doc.errors) apply(swagger.ApiResponse!({ status, description: '{ statusCode, code, message, field? }' }));
      apply(swagger.ApiResponse!({ status: 401, description: "Refused by the application's guard (or 403)" }));
    }
  }
  return true;
}
