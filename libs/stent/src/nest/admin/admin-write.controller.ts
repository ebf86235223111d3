import { Body, Controller, Delete, HttpCode, Inject, Param, Patch, Post, Query, UseFilters, UseGuards, type CanActivate, type Type } from '@nestjs/common';
import { ExecutionFinishedError, StentExecutor, toJsonView, type JsonValue } from '../../core/index.js';
import { dispatchBody, forkBody, noQuery, replayBody, rewindBody, signalBody, type QueryInput } from './admin-requests.js';
import { StentAdminExceptionFilter } from './admin-exception.filter.js';
import { InvalidRequestError } from './invalid-request.error.js';
import { arityOf } from './workflow-arity.js';
import { backfillBody, newScheduleBody, scheduleChangesBody } from './admin-schedule-requests.js';

/** The mutating routes under `path`: dispatch, cancel, signal, retry/resume, fork, rewind, dead-letter replay and discard, schedules, pausing queues and workflow types. */
export function createAdminWriteController(path: string, guards: Array<Type<CanActivate> | CanActivate>): Type<unknown> {
  @Controller(path)
  @UseGuards(...guards)
  @UseFilters(StentAdminExceptionFilter)
  class StentAdminWriteController {
    constructor(@Inject(StentExecutor) private readonly executor: StentExecutor) {}

    @Post('executions')
    @HttpCode(201)
    async dispatch(@Body() body: unknown, @Query() query: QueryInput): Promise<JsonValue> {
      noQuery(query);
      const { workflow, args, options } = dispatchBody(body);
      const registered = this.executor.registry.workflow(workflow);
      if (registered) {
        const { min, max } = arityOf(registered.definition.original as (...args: never[]) => unknown);
        if (args.length < min || (max !== null && args.length > max)) {
          const expected = max === null ? `at least ${min}` : min === max ? `${min}` : `${min} to ${max}`;
          throw new InvalidRequestError('args', `must hold ${expected} argument(s) for ${workflow}.run(), got ${args.length}`);
        }
      }
      const id = await this.executor.dispatch(workflow, args as never, options);
      return toJsonView({ id, workflowName: workflow });
    }

    @Post('executions/:id/cancel')
    @HttpCode(200)
    async cancel(@Param('id') id: string): Promise<JsonValue> {
      const { cancelled, state } = await this.executor.cancel(id);
      if (!cancelled) throw new ExecutionFinishedError(id, state);
      return toJsonView({ id, cancelled, state });
    }

    @Post('executions/:id/signals')
    @HttpCode(202)
    async signal(@Param('id') id: string, @Body() body: unknown): Promise<JsonValue> {
      const { name, payload } = signalBody(body);
      await this.executor.sendSignal(id, name, payload);
      return toJsonView({ id, signal: name, accepted: true });
    }

    @Post('executions/:id/retry')
    @HttpCode(200)
    async retry(@Param('id') id: string): Promise<JsonValue> {
      await this.executor.retry(id);
      return toJsonView({ id, state: (await this.executor.getExecution(id)).state });
    }

    @Post('executions/:id/resume')
    @HttpCode(200)
    async resume(@Param('id') id: string): Promise<JsonValue> {
      await this.executor.resume(id);
      return toJsonView({ id, state: (await this.executor.getExecution(id)).state });
    }

    @Post('executions/:id/fork')
    @HttpCode(201)
    async fork(@Param('id') id: string, @Body() body: unknown): Promise<JsonValue> {
      const { fromPosition, args, executionId } = forkBody(body);
      const forked = await this.executor.fork(id, { fromPosition, args, executionId });
      return toJsonView({ id: forked, forkedFrom: id, forkedAt: fromPosition });
    }

    @Post('executions/:id/rewind')
    @HttpCode(200)
    async rewind(@Param('id') id: string, @Body() body: unknown): Promise<JsonValue> {
      const { fromPosition } = rewindBody(body);
      await this.executor.rewind(id, fromPosition);
      return toJsonView({ id, rewoundTo: fromPosition, state: (await this.executor.getExecution(id)).state });
    }

    @Post('dead-letters/replay')
    @HttpCode(200)
    async replayMany(@Body() body: unknown): Promise<JsonValue> {
      const request = replayBody(body);
      return toJsonView('all' in request ? await this.executor.dlq.replayAll() : await this.executor.dlq.replayMany(request.ids));
    }

    @Post('dead-letters/:id/replay')
    @HttpCode(200)
    async replay(@Param('id') id: string): Promise<JsonValue> {
      return toJsonView({ id, ...(await this.executor.dlq.replay(id)) });
    }

    @Delete('dead-letters/:id')
    @HttpCode(200)
    async discard(@Param('id') id: string): Promise<JsonValue> {
      await this.executor.dlq.discard(id);
      return toJsonView({ id, discarded: true });
    }

    @Post('schedules')
    @HttpCode(201)
    async createSchedule(@Body() body: unknown): Promise<JsonValue> {
      return toJsonView(await this.executor.schedules.create(newScheduleBody(body)));
    }

    @Patch('schedules/:name')
    @HttpCode(200)
    async updateSchedule(@Param('name') name: string, @Body() body: unknown): Promise<JsonValue> {
      return toJsonView(await this.executor.schedules.update(name, scheduleChangesBody(body)));
    }

    @Post('schedules/:name/pause')
    @HttpCode(200)
    async pauseSchedule(@Param('name') name: string): Promise<JsonValue> {
      return toJsonView(await this.executor.schedules.pause(name));
    }

    @Post('schedules/:name/resume')
    @HttpCode(200)
    async resumeSchedule(@Param('name') name: string): Promise<JsonValue> {
      return toJsonView(await this.executor.schedules.resume(name));
    }

    @Post('schedules/:name/trigger')
    @HttpCode(201)
    async triggerSchedule(@Param('name') name: string): Promise<JsonValue> {
      return toJsonView({ name, ...(await this.executor.schedules.trigger(name)) });
    }

    @Post('schedules/:name/backfill')
    @HttpCode(200)
    async backfillSchedule(@Param('name') name: string, @Body() body: unknown): Promise<JsonValue> {
      return toJsonView({ name, ...(await this.executor.schedules.backfill(name, backfillBody(body))) });
    }

    @Delete('schedules/:name')
    @HttpCode(200)
    async deleteSchedule(@Param('name') name: string): Promise<JsonValue> {
      await this.executor.schedules.delete(name);
      return toJsonView({ name, deleted: true });
    }

    @Post('queues/:name/pause')
    @HttpCode(200)
    async pauseQueue(@Param('name') name: string): Promise<JsonValue> {
      return toJsonView(await this.executor.pauseQueue(name));
    }

    @Post('queues/:name/resume')
    @HttpCode(200)
    async resumeQueue(@Param('name') name: string): Promise<JsonValue> {
      return toJsonView(await this.executor.resumeQueue(name));
    }

    @Post('workflows/:name/pause')
    @HttpCode(200)
    async pauseWorkflow(@Param('name') name: string): Promise<JsonValue> {
      return toJsonView(await this.executor.pauseWorkflow(name));
    }

    @Post('workflows/:name/resume')
    @HttpCode(200)
    async resumeWorkflow(@Param('name') name: string): Promise<JsonValue> {
      return toJsonView(await this.executor.resumeWorkflow(name));
    }
  }
  return StentAdminWriteController;
}
