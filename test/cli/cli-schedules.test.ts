import { describe, expect, it } from 'vitest';
import type { StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { QUICK_WORKER } from '../support/executor-set.js';
import { manualInstances, Report } from '../fixtures/schedule-flows.js';
import { cliBench } from './cli-bench.js';

describe.each(DIALECTS)('stent schedules on %s', (dialect) => {
  let executor: StentExecutor;
  const { stent } = cliBench(dialect, async (set) => {
    executor = await set.executor(manualInstances(), QUICK_WORKER);
    await executor.schedules.pause('TenSeconds');
    await executor.schedules.create({ name: 'hourly', workflow: Report, cron: '0 * * * *', timezone: 'Europe/Berlin', catchUp: 3 });
  });

  it('list, show, pause, resume, trigger, backfill and delete; unknown names and missing options exit non-zero', async () => {
    const list = await stent('schedules', 'list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+WORKFLOW\s+CRON\s+TIMEZONE\s+STATE\s+NEXT TICK\s+LAST TICK\s+CATCH-UP\s+OVERLAP/);
    expect(list.stdout).toMatch(/TenSeconds\s+TenSeconds\s+\*\/10 \* \* \* \* \*\s+Europe\/Berlin\s+paused/);
    expect(list.stdout).toMatch(/hourly\s+Report\s+0 \* \* \* \*\s+Europe\/Berlin\s+active\s+\d{4}-.*latest 3\s+allow/);
    const json = JSON.parse((await stent('schedules', 'list', '--json')).stdout);
    expect(json.items.map((s: { name: string }) => s.name)).toEqual(['TenSeconds', 'hourly']);
    expect((await stent('schedules', 'show', 'hourly')).stdout).toMatch(/Cron:\s+0 \* \* \* \* in Europe\/Berlin/);

    // Changes ask first: refused without --yes when stdin is not a terminal.
    expect((await stent('schedules', 'pause', 'hourly')).code).toBe(6);
    expect((await executor.schedules.get('hourly')).state).toBe('active');
    expect((await stent('schedules', 'pause', 'hourly', '--yes')).stdout).toBe("Paused 'hourly'.\n");
    expect((await executor.schedules.get('hourly')).state).toBe('paused');
    expect((await stent('schedules', 'resume', 'hourly', '--yes')).stdout).toMatch(/^Resumed 'hourly'; next tick \d{4}-/);
    expect((await executor.schedules.get('hourly')).state).toBe('active');

    const trigger = JSON.parse((await stent('schedules', 'trigger', 'hourly', '--yes', '--json')).stdout);
    expect((await executor.waitFor(trigger.executionId, { timeout: '30s' })).state).toBe('completed');

    const from = new Date(Date.now() - 3 * 3_600_000).toISOString();
    const backfill = await stent('schedules', 'backfill', 'hourly', '--from', from, '--yes');
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(backfill.stdout).toBe('3 tick(s) in the range; started 3 run(s).\n');
    expect((await stent('schedules', 'backfill', 'hourly', '--from', from, '--yes')).stdout).toBe('3 tick(s) in the range; started 0 run(s), 3 had one already.\n');
    const noFrom = await stent('schedules', 'backfill', 'hourly', '--yes');
    expect(noFrom.code).toBe(2);
    expect(noFrom.stderr).toMatch(/--from/);

    const unknown = await stent('schedules', 'pause', 'nope', '--yes');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toBe("stent: No schedule named 'nope' [STENT_SCHEDULE_NOT_FOUND]\n");
    expect((await stent('schedules', 'delete', 'hourly', '--yes')).stdout).toBe("Deleted 'hourly'.\n");
    expect((await executor.schedules.list()).map((s) => s.name)).toEqual(['TenSeconds']);
  });
});
