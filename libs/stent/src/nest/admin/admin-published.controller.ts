import { Controller, Get, Headers, Inject, Param, Query, Sse, UseFilters, UseGuards, type CanActivate, type MessageEvent, type Type } from '@nestjs/common';
import { Observable } from 'rxjs';
import { ExecutionNotFoundError, parseDuration, StentExecutor, toJsonView, type JsonValue } from '../../core/index.js';
import { InvalidRequestError } from './invalid-request.error.js';
import { StentAdminExceptionFilter } from './admin-exception.filter.js';
import { singleQuery, type QueryInput } from './admin-requests.js';

/** The longest an HTTP request may wait for an event (a client wanting longer asks again). */
const MAX_EVENT_WAIT_MS = 60_000;

function eventTimeout(query: QueryInput): number {
  const given = singleQuery(query, 'timeout');
  if (given === undefined) return 0;
  // Bare digits are milliseconds, as a number is everywhere else a duration is taken.
  const ms = parseDuration(/^\d+$/.test(given) ? Number(given) : given);
  if (ms > MAX_EVENT_WAIT_MS) throw new InvalidRequestError('timeout', `must be at most ${MAX_EVENT_WAIT_MS / 1000}s`);
  return ms;
}

/** Where a stream read starts: `from`, or one past the Last-Event-ID an EventSource sends when it reconnects. */
function streamStart(query: QueryInput, lastEventId: string | undefined): number {
  const from = singleQuery(query, 'from');
  const parse = (value: string, name: string) => {
    if (!/^\d+$/.test(value)) throw new InvalidRequestError(name, 'must be a whole number >= 0');
    return Number(value);
  };
  if (lastEventId !== undefined && lastEventId !== '') return parse(lastEventId, 'Last-Event-ID') + 1;
  return from === undefined ? 0 : parse(from, 'from');
}

/**
 * What executions publish, under `path`: an event's value (waiting up to `timeout` for it) and a stream as
 * server-sent events: one `message` per chunk (its index as the event id, its value as JSON data), then an
 * `end` event when the workflow closes the stream or the execution ends.
 */
export function createAdminPublishedController(path: string, guards: Array<Type<CanActivate> | CanActivate>): Type<unknown> {
  @Controller(path)
  @UseGuards(...guards)
  @UseFilters(StentAdminExceptionFilter)
  class StentAdminPublishedController {
    constructor(@Inject(StentExecutor) private readonly executor: StentExecutor) {}

    @Get('executions/:id/events/:key')
    async getEvent(@Param('id') id: string, @Param('key') key: string, @Query() query: QueryInput): Promise<JsonValue> {
      const value = await this.executor.getEvent(id, key, { timeout: eventTimeout(query) });
      return toJsonView({ executionId: id, key, value });
    }

    @Sse('executions/:id/streams/:key')
    async readStream(@Param('id') id: string, @Param('key') key: string, @Query() query: QueryInput, @Headers('last-event-id') lastEventId?: string): Promise<Observable<MessageEvent>> {
      const from = streamStart(query, lastEventId);
      // Checked before the response starts, so an unknown execution is a 404 rather than an empty stream.
      if (!(await this.executor.store.getExecution(id))) throw new ExecutionNotFoundError(id);
      return new Observable<MessageEvent>((subscriber) => {
        const stop = new AbortController();
        void (async () => {
          let next = from;
          try {
            for await (const chunk of this.executor.readStream(id, key, { from, signal: stop.signal })) {
              subscriber.next({ id: String(chunk.index), data: toJsonView(chunk.value) as object });
              next = chunk.index + 1;
            }
            if (!stop.signal.aborted) {
              // Its id is the last chunk's (an empty id before any): a client reconnecting after it gets the end again.
              subscriber.next({ type: 'end', id: next > 0 ? String(next - 1) : '', data: {} });
              subscriber.complete();
            }
          } catch (error) {
            subscriber.error(error);
          }
        })();
        return () => stop.abort();
      });
    }
  }
  return StentAdminPublishedController;
}
