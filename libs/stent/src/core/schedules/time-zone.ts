import { InvalidScheduleError } from '../errors/index.js';

/**
 * Wall-clock time in an IANA time zone, through Intl (no time-zone database of our own). A "wall" time is
 * the zone's local date and time written as if it were UTC epoch milliseconds, so Date's UTC getters read
 * its fields.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, format);
  }
  return format;
}

/** The zone's canonical name; an InvalidScheduleError for one Intl does not know. */
export function checkTimeZone(zone: unknown): string {
  if (typeof zone !== 'string' || zone === '') throw new InvalidScheduleError('timezone', 'give an IANA time zone such as "Europe/Berlin" or "UTC"');
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new InvalidScheduleError('timezone', `"${zone}" is not a time zone this Node.js knows`);
  }
}

/** How far the zone's wall clock is ahead of UTC at instant `utc` (ms). */
export function zoneOffset(zone: string, utc: number): number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return 0;
  const whole = Math.floor(utc / 1000) * 1000;
  const parts: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(whole))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - whole;
}

export function toWall(zone: string, utc: number): number {
  return utc + zoneOffset(zone, utc);
}

/**
 * The earliest instant after `after` at which the zone's clock reads `wall`, or null when it never does
 * (skipped when clocks go forward). A time the clocks pass twice (when they go back) is the first one
 * still after `after`.
 */
export function fromWall(zone: string, wall: number, after: number): number | null {
  const day = 86_400_000;
  const offsets = new Set([zoneOffset(zone, wall - day), zoneOffset(zone, wall), zoneOffset(zone, wall + day)]);
  let best: number | null = null;
  for (const offset of offsets) {
    const utc = wall - offset;
    if (utc <= after || zoneOffset(zone, utc) !== offset) continue;
    if (best === null || utc < best) best = utc;
  }
  return best;
}
