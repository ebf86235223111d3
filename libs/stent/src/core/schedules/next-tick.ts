import type { CronExpression } from './cron-expression.js';
import { fromWall, toWall } from './time-zone.js';

/** A cron expression that matches nothing within this many years (say, February 30th) has no next tick. */
const SEARCH_YEARS = 8;

/**
 * The first tick of `cron` in `zone` strictly after `after` (epoch ms), or null if there is none. Works on
 * the zone's wall clock and skips whole months, days, hours and minutes that cannot match.
 */
export function nextTick(cron: CronExpression, zone: string, after: number): number | null {
  const unit = cron.hasSeconds ? 1000 : 60_000;
  let wall = Math.floor(toWall(zone, after) / unit) * unit + unit;
  const limit = wall + SEARCH_YEARS * 366 * 86_400_000;
  while (wall < limit) {
    const d = new Date(wall);
    const [year, month, day, hour, minute, second] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
    if (!cron.months.has(month + 1)) {
      wall = Date.UTC(year, month + 1, 1);
    } else if (!dayMatches(cron, day, d.getUTCDay())) {
      wall = Date.UTC(year, month, day + 1);
    } else if (!cron.hours.has(hour)) {
      wall = Date.UTC(year, month, day, hour + 1);
    } else if (!cron.minutes.has(minute)) {
      wall = Date.UTC(year, month, day, hour, minute + 1);
    } else if (!cron.seconds.has(second)) {
      wall = Date.UTC(year, month, day, hour, minute, second + 1);
    } else {
      const utc = fromWall(zone, wall, after);
      if (utc !== null) return utc;
      wall += unit;
    }
  }
  return null;
}

/** Ticks after `after` up to and including `until`, at most `limit` of them (the earliest). */
export function ticksBetween(cron: CronExpression, zone: string, after: number, until: number, limit: number): number[] {
  const ticks: number[] = [];
  for (let tick = nextTick(cron, zone, after); tick !== null && tick <= until && ticks.length < limit; tick = nextTick(cron, zone, tick)) ticks.push(tick);
  return ticks;
}

function dayMatches(cron: CronExpression, dayOfMonth: number, dayOfWeek: number): boolean {
  const byMonth = cron.daysOfMonth.has(dayOfMonth);
  const byWeek = cron.daysOfWeek.has(dayOfWeek);
  if (cron.anyDayOfMonth && cron.anyDayOfWeek) return true;
  if (cron.anyDayOfMonth) return byWeek;
  if (cron.anyDayOfWeek) return byMonth;
  return byMonth || byWeek;
}
