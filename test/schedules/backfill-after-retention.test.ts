import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type ScheduleTick, type StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { nudgeUntil } from '../support/manual-time.js';
import { waitUntil } from '../support/wait.js';
import { manualInstances, Report } from '../fixtures/schedule-flows.js';

const START = Date.UTC(2030, 0, 1, 0, 0, 5);
const at = (hour: number) => Date.UTC(2030, 0, 1, hour);

async function runsOf(executor: StentExecutor) {
  const { items } = await executor.listExecutions({ workflowName: 'Report' }, { limit: 500 });
  return items.map((item) => ({ id: item.id, state: item.state, tickAt: (item.args[0] as ScheduleTick).tickAt })).sort((a, b) => a.tickAt.localeCompare(b.tickAt));
}

describe.each(DIALECTS)('backfill after retention removed runs (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('does not start again the ticks whose runs retention removed, nor earlier ones; later missed ticks it does', async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(START);
    const executor = await set.executor(manualInstances(), QUICK_WORKER, true, clock);
    await executor.schedules.create({ name: 'hourly', workflow: Report, cron: '0 * * * *', args: ['x', 1] });
    for (const hour of [1, 2]) {
      clock.advanceTo(at(hour));
      await waitUntil(async () => (await runsOf(executor)).length === hour, `the ${hour}:00 tick`);
    }
    await nudgeUntil(clock, async () => ((await runsOf(executor)).every((run) => run.state === 'completed') ? true : null), 'both runs to complete');
    await executor.schedules.pause('hourly');
    clock.advance('2h');
    expect((await executor.schedules.get('hourly')).removedThrough).toBeNull();

    // (The fixtures' declared TenSeconds schedule has runs of its own, which go too.)
    expect((await executor.cleanup({ olderThan: 0 })).executions).toBeGreaterThanOrEqual(2);
    expect(await runsOf(executor)).toEqual([]);
    expect((await executor.schedules.get('hourly')).removedThrough).toEqual(new Date(at(2)));

    const backfill = await executor.schedules.backfill('hourly', { from: at(0) + 1_000, to: clock.now() });
    expect(backfill).toMatchObject({ ticks: 4, removed: 2 });
    expect(backfill.created).toHaveLength(2);
    expect((await runsOf(executor)).map((run) => run.tickAt)).toEqual([new Date(at(3)).toISOString(), new Date(at(4)).toISOString()]);
  });
});
