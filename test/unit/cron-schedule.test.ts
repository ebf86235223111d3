import { describe, expect, it } from 'vitest';
import { InvalidScheduleError } from 'nestjs-stent';
import { nextTick, parseCron, planFiring, ticksBetween, type ScheduleRecord } from 'nestjs-stent/internal';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const next = (cron: string, zone: string, after: string) => iso(nextTick(parseCron(cron), zone, at(after)));

describe('cron expressions', () => {
  it.each([
    ['0 * * * *', 'UTC', '2026-03-01T10:15:00Z', '2026-03-01T11:00:00.000Z'],
    ['*/15 * * * *', 'UTC', '2026-03-01T10:15:00Z', '2026-03-01T10:30:00.000Z'],
    ['30 9 * * MON-FRI', 'UTC', '2026-03-06T10:00:00Z', '2026-03-09T09:30:00.000Z'],
    ['0 0 1 JAN *', 'UTC', '2026-03-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['@daily', 'UTC', '2026-03-01T00:00:00Z', '2026-03-02T00:00:00.000Z'],
    ['*/2 * * * * *', 'UTC', '2026-03-01T00:00:00.500Z', '2026-03-01T00:00:02.000Z'],
    ['0 0 * * 7', 'UTC', '2026-03-02T00:00:00Z', '2026-03-08T00:00:00.000Z'],
    // Both day fields restricted: either matches (the 13th, or a Friday).
    ['0 0 13 * 5', 'UTC', '2026-03-01T00:00:00Z', '2026-03-06T00:00:00.000Z'],
    ['0 9 * * *', 'Europe/Berlin', '2026-01-10T12:00:00Z', '2026-01-11T08:00:00.000Z'],
    ['0 9 * * *', 'Europe/Berlin', '2026-07-10T12:00:00Z', '2026-07-11T07:00:00.000Z'],
    ['0 9 * * *', 'America/New_York', '2026-07-10T12:00:00Z', '2026-07-10T13:00:00.000Z'],
  ])('%s in %s after %s is %s', (cron, zone, after, expected) => {
    expect(next(cron, zone, after)).toBe(expected);
  });

  it('skips a wall-clock time the clocks jump over, and runs a repeated one once', () => {
    // Berlin springs forward at 02:00 on 2026-03-29: 02:30 does not exist that day.
    expect(next('30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z')).toBe('2026-03-30T00:30:00.000Z');
    // It falls back at 03:00 on 2026-10-25: 02:30 happens twice; the daily run comes once.
    const ticks = ticksBetween(parseCron('30 2 * * *'), 'Europe/Berlin', at('2026-10-24T12:00:00Z'), at('2026-10-26T12:00:00Z'), 10).map(iso);
    expect(ticks).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    // An hourly schedule through the spring-forward night has 23 ticks that day.
    expect(ticksBetween(parseCron('0 * * * *'), 'Europe/Berlin', at('2026-03-28T23:00:00Z'), at('2026-03-29T21:59:00Z'), 100)).toHaveLength(22);
  });

  it('has no next tick for a date that never comes', () => {
    expect(nextTick(parseCron('0 0 30 2 *'), 'UTC', at('2026-01-01T00:00:00Z'))).toBeNull();
  });

  it.each([['* * *'], ['61 * * * *'], ['* * * * * * *'], ['a * * * *'], ['5-1 * * * *'], ['*/0 * * * *'], [''], ['1,,2 * * * *']])('refuses %j with InvalidScheduleError', (cron) => {
    expect(() => parseCron(cron)).toThrow(InvalidScheduleError);
    try {
      parseCron(cron);
    } catch (error) {
      expect((error as InvalidScheduleError).code).toBe('STENT_INVALID_SCHEDULE');
    }
  });
});

describe('firing plan', () => {
  const base: ScheduleRecord = {
    name: 's', workflowName: 'W', cron: '* * * * *', timezone: 'UTC', args: '[]', catchUp: 0, overlap: 'allow', state: 'active', source: 'api',
    queue: 'default', priority: null, tags: [], maxDurationMs: null, nextTickAt: null, lastTickAt: null, lastExecutionId: null, createdAt: 0, updatedAt: 0,
  };
  const now = at('2026-03-01T12:00:30Z');

  it('fires every tick due within the last minute', () => {
    const plan = planFiring({ ...base, cron: '*/10 * * * * *', nextTickAt: at('2026-03-01T12:00:00Z') }, now);
    expect(plan.run.map(iso)).toEqual(['2026-03-01T12:00:00.000Z', '2026-03-01T12:00:10.000Z', '2026-03-01T12:00:20.000Z', '2026-03-01T12:00:30.000Z']);
    expect(iso(plan.nextTickAt)).toBe('2026-03-01T12:00:40.000Z');
  });

  it("skips ticks missed during an outage with catchUp 'skip', runs the latest N with catchUp N", () => {
    const behind = { ...base, nextTickAt: at('2026-03-01T11:00:00Z') };
    const skip = planFiring(behind, now);
    expect(skip.run.map(iso)).toEqual(['2026-03-01T12:00:00.000Z']);
    expect(skip.skipped).toBe(60);
    const three = planFiring({ ...behind, catchUp: 3 }, now);
    expect(three.run.map(iso)).toEqual(['2026-03-01T11:57:00.000Z', '2026-03-01T11:58:00.000Z', '2026-03-01T11:59:00.000Z', '2026-03-01T12:00:00.000Z']);
    expect(iso(three.nextTickAt)).toBe('2026-03-01T12:01:00.000Z');
  });

  it("runs only the latest due tick with overlap 'skip'", () => {
    const plan = planFiring({ ...base, cron: '*/10 * * * * *', overlap: 'skip', nextTickAt: at('2026-03-01T12:00:00Z') }, now);
    expect(plan.run.map(iso)).toEqual(['2026-03-01T12:00:30.000Z']);
  });
});
