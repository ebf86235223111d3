import type { ScheduleOptions } from '../api/schedule-options.js';
import { parseDuration, type Duration } from '../api/duration.js';
import { ConfigurationError, InvalidScheduleError } from '../errors/index.js';
import { parseCron, type CronExpression } from './cron-expression.js';
import { checkTimeZone } from './time-zone.js';

/** ScheduleOptions checked and resolved: the parsed expression, the zone, the policies. */
export interface ScheduleSettings {
  cron: CronExpression;
  timezone: string;
  /** 0: skip missed ticks; N: run the latest N. */
  catchUp: number;
  overlap: 'skip' | 'allow';
  args: unknown[];
}

/** Most missed ticks a schedule may catch up at once. */
export const MAX_CATCH_UP = 1000;

const KEYS = ['cron', 'timezone', 'catchUp', 'overlap', 'args'];

/** Checks schedule options where they are declared; each problem is an InvalidScheduleError. */
export function scheduleSettings(options: ScheduleOptions, extraKeys: readonly string[] = []): ScheduleSettings {
  if (options === null || typeof options !== 'object') throw new InvalidScheduleError('options', 'give an object such as { cron: "0 * * * *" }');
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key) && !extraKeys.includes(key)) throw new InvalidScheduleError(key, `is not a schedule option; use ${[...KEYS, ...extraKeys].join(', ')}`);
  }
  const catchUp = options.catchUp ?? 'skip';
  if (catchUp !== 'skip' && !(Number.isInteger(catchUp) && catchUp >= 0 && catchUp <= MAX_CATCH_UP)) {
    throw new InvalidScheduleError('catchUp', `must be 'skip' or a whole number from 0 to ${MAX_CATCH_UP}`);
  }
  const overlap = options.overlap ?? 'allow';
  if (overlap !== 'skip' && overlap !== 'allow') throw new InvalidScheduleError('overlap', "must be 'skip' or 'allow'");
  const args = options.args ?? [];
  if (!Array.isArray(args)) throw new InvalidScheduleError('args', 'must be an array (the arguments after the tick)');
  return { cron: parseCron(options.cron), timezone: checkTimeZone(options.timezone ?? 'UTC'), catchUp: catchUp === 'skip' ? 0 : catchUp, overlap, args };
}

/** How often a worker looks for due schedules (worker.schedules.checkInterval, default 1s). */
export function scheduleCheckMs(option: { checkInterval?: Duration } | undefined): number {
  if (option !== undefined && (option === null || typeof option !== 'object')) throw new ConfigurationError("worker.schedules must be false or { checkInterval: '1s' }");
  const ms = parseDuration(option?.checkInterval ?? '1s');
  if (ms < 10) throw new ConfigurationError('worker.schedules.checkInterval must be at least 10ms');
  return ms;
}
