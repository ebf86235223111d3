import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ConfigurationError, parseDuration, parseOptionalDuration, StentExecutor } from '../../core/index.js';
import type { StentHealthOptions } from './stent-health-options.js';

/** Settles with `work`, or rejects once `ms` have passed. */
function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * A @nestjs/terminus health indicator for Stent: up when the database answers a ping in time, this
 * process's worker is ready (or the process has none), and the backlog and dead letters stay within the
 * limits given; down otherwise, with the reason. Details: `database` ('up' / 'down' and `databaseError`),
 * `pingMs`, `worker` (readiness: starting, ready, unavailable, draining, stopped, api-only), `workerState`,
 * `reason`, and, when limits are set, `backlogAgeMs` / `maxBacklogAgeMs`, `deadLetters` / `maxDeadLetters`.
 */
@Injectable()
export class StentHealthIndicator {
  constructor(
    private readonly executor: StentExecutor,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy<const Key extends string = 'stent'>(key: Key = 'stent' as Key, options: StentHealthOptions = {}): Promise<HealthIndicatorResult<Key>> {
    const timeoutMs = parseDuration(options.timeout ?? '2s');
    const maxBacklogAgeMs = parseOptionalDuration(options.maxBacklogAge);
    const { maxDeadLetters } = options;
    if (maxDeadLetters !== undefined && (!Number.isInteger(maxDeadLetters) || maxDeadLetters < 0)) {
      throw new ConfigurationError(`StentHealthIndicator: maxDeadLetters must be a whole number >= 0, got ${maxDeadLetters}`);
    }
    const indicator = this.health.check(key);
    const readiness = this.executor.readinessDetail();
    const details: Record<string, unknown> = { worker: readiness.readiness, workerState: readiness.worker ?? 'none' };
    const problems: string[] = [];

    const pingStarted = Date.now();
    try {
      await within(this.executor.store.ping(), timeoutMs, 'the database');
      details.database = 'up';
      details.pingMs = Date.now() - pingStarted;
    } catch (error) {
      details.database = 'down';
      details.databaseError = messageOf(error);
      problems.push(`database unreachable: ${messageOf(error)}`);
    }

    if (!readiness.ready) problems.push(`worker ${readiness.readiness}${readiness.reason ? `: ${readiness.reason}` : ''}`);

    if (details.database === 'up' && (maxBacklogAgeMs !== undefined || maxDeadLetters !== undefined)) {
      try {
        const stats = await within(this.executor.stats(), timeoutMs, 'the backlog query');
        if (maxBacklogAgeMs !== undefined) {
          Object.assign(details, { backlogAgeMs: stats.backlogAgeMs, maxBacklogAgeMs });
          if (stats.backlogAgeMs > maxBacklogAgeMs) problems.push(`oldest due work has waited ${stats.backlogAgeMs} ms (limit ${maxBacklogAgeMs} ms)`);
        }
        if (maxDeadLetters !== undefined) {
          Object.assign(details, { deadLetters: stats.deadLetters, maxDeadLetters });
          if (stats.deadLetters > maxDeadLetters) problems.push(`${stats.deadLetters} dead-lettered task(s) (limit ${maxDeadLetters})`);
        }
      } catch (error) {
        problems.push(`backlog unknown: ${messageOf(error)}`);
      }
    }

    if (problems.length === 0) return indicator.up(details);
    return indicator.down({ ...details, reason: problems.join('; ') });
  }
}
