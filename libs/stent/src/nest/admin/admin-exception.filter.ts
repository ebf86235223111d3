import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { StentError, type StentErrorCategory } from '../../core/index.js';

/** HTTP status of each error category (see StentErrorCategory). */
export const STATUS_BY_CATEGORY: Record<StentErrorCategory, number> = {
  bad_input: HttpStatus.BAD_REQUEST,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  timeout: HttpStatus.GATEWAY_TIMEOUT,
  outcome: HttpStatus.CONFLICT,
  internal: HttpStatus.INTERNAL_SERVER_ERROR,
};

/** The JSON body of every admin API error. */
export interface AdminErrorBody {
  statusCode: number;
  /** Stable code (STENT_*; HTTP_<status> for errors from guards and Nest). */
  code: string;
  message: string;
  /** The request field that is wrong, for bad input. */
  field?: string;
}

/**
 * The admin routes' errors as JSON with the status the error's category calls for: bad input 400, unknown
 * id or name 404, a request that contradicts stored state 409. The user's guards' exceptions (401, 403)
 * keep their status; anything unexpected is a logged 500 without internals.
 */
@Catch()
export class StentAdminExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('StentAdmin');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const body = this.bodyFor(exception);
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), body, body.statusCode);
  }

  private bodyFor(exception: unknown): AdminErrorBody {
    if (exception instanceof StentError) {
      const statusCode = STATUS_BY_CATEGORY[exception.category] ?? HttpStatus.INTERNAL_SERVER_ERROR;
      if (statusCode >= 500) this.logger.error(`${exception.code}: ${exception.message}`, exception.stack);
      const field = (exception as { field?: unknown }).field;
      return { statusCode, code: exception.code, message: exception.message, ...(typeof field === 'string' ? { field } : {}) };
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      const message = typeof response === 'string' ? response : String((response as { message?: unknown }).message ?? exception.message);
      return { statusCode, code: `HTTP_${statusCode}`, message };
    }
    this.logger.error('Unexpected error in the admin API', exception instanceof Error ? exception.stack : String(exception));
    return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, code: 'STENT_ERROR', message: 'Internal error (logged by the server)' };
  }
}
