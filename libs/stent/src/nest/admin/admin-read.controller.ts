import { Controller, Get, Inject, Param, Query, UseFilters, UseGuards, type CanActivate, type Type } from '@nestjs/common';
import { InvalidFilterError, MAX_PAGE_LIMIT, StentExecutor, toJsonView, type JsonValue, type WorkerView, type WorkflowRoute } from '../../core/index.js';
import { executionListQuery, intQuery, noQuery, pageQuery, singleQuery, type QueryInput } from './admin-requests.js';
import { StentAdminExceptionFilter } from './admin-exception.filter.js';

/** What the live workers on the database run (a process without the workflow code knows the names from them). */
function servedBy(workers: WorkerView[]) {
  const workflows = new Map<string, WorkflowRoute & { name: string; workers: string[] }>();
  const activities = new Map<string, { name: string; workers: string[] }>();
  for (const worker of workers.filter((candidate) => candidate.status === 'live')) {
    for (const name of worker.workflows) {
      const route = worker.workflowRoutes[name] ?? { queue: 'default', priority: null, tags: [], maxDurationMs: null };
      const entry = workflows.get(name) ?? { name, ...route, workers: [] };
      entry.workers.push(worker.id);
      workflows.set(name, entry);
    }
    for (const name of worker.activities) {
      const entry = activities.get(name) ?? { name, workers: [] };
      entry.workers.push(worker.id);
      activities.set(name, entry);
    }
  }
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  return { workflows: [...workflows.values()].sort(byName), activities: [...activities.values()].sort(byName) };
}

/** The read routes under `path`: executions, one execution, its journal, dead letters, registry, workers, schedules, stats. */
export function createAdminReadController(path: string, guards: Array<Type<CanActivate> | CanActivate>): Type<unknown> {
  @Controller(path)
  @UseGuards(...guards)
  @UseFilters(StentAdminExceptionFilter)
  class StentAdminReadController {
    constructor(@Inject(StentExecutor) private readonly executor: StentExecutor) {}

    @Get('executions')
    async listExecutions(@Query() query: QueryInput): Promise<JsonValue> {
      const { filter, page } = executionListQuery(query);
      return toJsonView(await this.executor.listExecutions(filter, page));
    }

    @Get('executions/:id')
    async getExecution(@Param('id') id: string): Promise<JsonValue> {
      return toJsonView(await this.executor.getExecution(id));
    }

    @Get('executions/:id/journal')
    async getJournal(@Param('id') id: string, @Query() query: QueryInput): Promise<JsonValue> {
      const { limit = MAX_PAGE_LIMIT, offset = 0 } = pageQuery(query);
      if (limit < 1 || limit > MAX_PAGE_LIMIT) throw new InvalidFilterError('limit', `must be a whole number from 1 to ${MAX_PAGE_LIMIT}`);
      if (offset < 0) throw new InvalidFilterError('offset', 'must be a whole number >= 0');
      const steps = await this.executor.getJournal(id);
      return toJsonView({ items: steps.slice(offset, offset + limit), total: steps.length, limit, offset });
    }

    @Get('dead-letters')
    async listDeadLetters(@Query() query: QueryInput): Promise<JsonValue> {
      const { limit, offset, filters } = pageQuery(query, ['executionId', 'name']);
      return toJsonView(await this.executor.listDeadLetters({ limit, offset, ...filters }));
    }

    @Get('dead-letters/:id')
    async getDeadLetter(@Param('id') id: string): Promise<JsonValue> {
      return toJsonView(await this.executor.getDeadLetter(id));
    }

    @Get('workflows')
    async listDefinitions(@Query() query: QueryInput): Promise<JsonValue> {
      noQuery(query);
      return toJsonView({ ...this.executor.listDefinitions(), served: servedBy(await this.executor.listWorkers()) });
    }

    @Get('workers')
    async listWorkers(@Query() query: QueryInput): Promise<JsonValue> {
      const recent = singleQuery(query, 'recent');
      return toJsonView({ items: await this.executor.listWorkers(recent === undefined ? {} : { recent }) });
    }

    @Get('schedules')
    async listSchedules(@Query() query: QueryInput): Promise<JsonValue> {
      noQuery(query);
      return toJsonView({ items: await this.executor.schedules.list() });
    }

    @Get('schedules/:name')
    async getSchedule(@Param('name') name: string): Promise<JsonValue> {
      return toJsonView(await this.executor.schedules.get(name));
    }

    @Get('paused')
    async listPaused(@Query() query: QueryInput): Promise<JsonValue> {
      noQuery(query);
      return toJsonView({ items: await this.executor.listPaused() });
    }

    @Get('stats')
    async stats(@Query() query: QueryInput): Promise<JsonValue> {
      const minutes = intQuery(query, 'minutes');
      return toJsonView(await this.executor.stats(minutes === undefined ? {} : { throughputMinutes: minutes }));
    }
  }
  return StentAdminReadController;
}
