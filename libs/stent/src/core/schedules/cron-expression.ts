import { InvalidScheduleError } from '../errors/index.js';

/**
 * A parsed cron expression: the allowed values of each field. Five fields (minute hour day-of-month month
 * day-of-week) or six with seconds first; `*`, lists, ranges, steps (`*\/15`, `1-30/2`), month and weekday
 * names (JAN, MON), Sunday as 0 or 7, and the macros @yearly, @monthly, @weekly, @daily, @hourly.
 * As in classic cron, when both day fields are restricted a day matching either one matches.
 */
export interface CronExpression {
  source: string;
  /** Whether the expression names seconds (six fields): ticks fall on seconds, not whole minutes. */
  hasSeconds: boolean;
  seconds: ReadonlySet<number>;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0 (Sunday) to 6. */
  daysOfWeek: ReadonlySet<number>;
  /** Whether each day field is `*` (then only the other one decides). */
  anyDayOfMonth: boolean;
  anyDayOfWeek: boolean;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  label: string;
  min: number;
  max: number;
  names?: string[];
  /** Value of the first name (months count from 1). */
  nameBase?: number;
}

const SECOND: FieldSpec = { label: 'second', min: 0, max: 59 };
const MINUTE: FieldSpec = { label: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { label: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { label: 'day of month', min: 1, max: 31 };
const MONTH: FieldSpec = { label: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 };
const DAY_OF_WEEK: FieldSpec = { label: 'day of week', min: 0, max: 7, names: DAY_NAMES, nameBase: 0 };

export function parseCron(expression: unknown): CronExpression {
  if (typeof expression !== 'string' || expression.trim() === '') throw new InvalidScheduleError('cron', 'give a cron expression such as "0 * * * *"');
  const source = expression.trim();
  const text = MACROS[source.toLowerCase()] ?? source;
  const fields = text.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new InvalidScheduleError('cron', `"${source}" has ${fields.length} fields; use 5 (minute hour day month weekday) or 6 (seconds first)`);
  }
  const hasSeconds = fields.length === 6;
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = hasSeconds ? fields : ['0', ...fields];
  const weekdays = parseField(source, dayOfWeek!, DAY_OF_WEEK);
  // 7 is Sunday too.
  if (weekdays.has(7)) {
    weekdays.delete(7);
    weekdays.add(0);
  }
  return {
    source,
    hasSeconds,
    seconds: parseField(source, second!, SECOND),
    minutes: parseField(source, minute!, MINUTE),
    hours: parseField(source, hour!, HOUR),
    daysOfMonth: parseField(source, dayOfMonth!, DAY_OF_MONTH),
    months: parseField(source, month!, MONTH),
    daysOfWeek: weekdays,
    anyDayOfMonth: isAny(dayOfMonth!),
    anyDayOfWeek: isAny(dayOfWeek!),
  };
}

function isAny(field: string): boolean {
  return field === '*' || field === '?';
}

function parseField(source: string, field: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>();
  const fail = (why: string): never => {
    throw new InvalidScheduleError('cron', `"${source}": ${spec.label} field "${field}" ${why}`);
  };
  for (const part of field.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') fail('is not a value, range or step');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1 || (stepText !== undefined && String(step) !== stepText)) fail(`has step "${stepText}"; use a whole number >= 1`);
    let low: number;
    let high: number;
    if (range === '*' || range === '?') {
      low = spec.min;
      high = spec.max;
    } else {
      const [from, to, more] = range!.split('-');
      if (more !== undefined) fail('has a range with more than two ends');
      low = value(from!, spec, fail);
      high = to === undefined ? (stepText === undefined ? low : spec.max) : value(to, spec, fail);
      if (high < low) fail(`has a range that ends before it starts (${low}-${high})`);
    }
    for (let v = low; v <= high; v += step) values.add(v);
  }
  return values;
}

function value(text: string, spec: FieldSpec, fail: (why: string) => never): number {
  const upper = text.toUpperCase();
  const named = spec.names?.indexOf(upper) ?? -1;
  const n = named >= 0 ? named + (spec.nameBase ?? 0) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n)) fail(`has "${text}", which is not a number${spec.names ? ' or a name' : ''}`);
  if (n < spec.min || n > spec.max) fail(`has ${n}, outside ${spec.min}-${spec.max}`);
  return n;
}
