import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidScheduleError, ManualClock, ScheduleExistsError, ScheduleNotFoundError, type ScheduleTick, type StentExecutor } from 'nestjs-stent';
import { tickKey } from 'nestjs-stent/internal';
import { DIALECTS } from '../support/databases.js';
import { rejectionOf, ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { nudgeUntil } from '../support/manual-time.js';
import { waitUntil } from '../support/wait.js';
import { LongReport, manualInstances, Report } from '../fixtures/schedule-flows.js';

const START = Date.UTC(2030, 0, 1, 0, 0, 5);
const HOUR = 3_600_000;

async function runsOf(executor: StentExecutor, workflowName: string) {
  const { items } = await executor.listExecutions({ workflowName }, { limit: 500 });
  return items.map((item) => ({ ...item, tick: item.args[0] as ScheduleTick })).sort((a, b) => a.tick.tickAt.localeCompare(b.tick.tickAt));
}

describe.each(DIALECTS)('schedules on the manual clock (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('a schedule declared in code fires each tick once across two workers, in its time zone, with the tick as the first argument', async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(START);
    const first = await set.executor(manualInstances(), QUICK_WORKER, true, clock);
    const second = await set.executor(manualInstances(), QUICK_WORKER, true, clock);
    const [declared] = await first.schedules.list();
    expect(declared).toMatchObject({ name: 'TenSeconds', workflowName: 'TenSeconds', cron: '*/10 * * * * *', timezone: 'Europe/Berlin', source: 'decorator', state: 'active', args: ['declared'] });
    expect(declared!.nextTickAt).toEqual(new Date(START + 5_000));

    // Tick by tick (a jump of more than a minute would make the ticks it passes missed ones).
    for (let i = 0; i < 6; i++) {
      clock.advanceTo(START + 5_000 + i * 10_000);
      await waitUntil(async () => (await runsOf(first, 'TenSeconds')).length === i + 1, `tick ${i + 1} of TenSeconds`);
    }
    const runs = await runsOf(second, 'TenSeconds');
    const ticks = runs.map((run) => Date.parse(run.tick.tickAt));
    const expected = ticks.map((_, i) => START + 5_000 + i * 10_000);
    expect(ticks).toEqual(expected);
    expect(runs.map((run) => run.idempotencyKey)).toEqual(expected.map((tick) => tickKey('TenSeconds', tick)));
    expect(runs.every((run) => run.args[1] === 'declared' && run.tick.manual === false && run.tick.schedule === 'TenSeconds')).toBe(true);
    const last = runs[runs.length - 1]!;
    const outcome = await nudgeUntil(clock, async () => ((await first.getExecution(last.id)).state === 'completed' ? first.waitFor(last.id) : null), 'the last run to complete');
    expect(outcome.value).toEqual({ tick: last.tick, label: 'declared' });
  });

  it('create, trigger, pause, backfill, resume, update and delete through executor.schedules', async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(START);
    const executor = await set.executor(manualInstances(), { ...QUICK_WORKER }, true, clock);
    const created = await executor.schedules.create({ name: 'hourly-report', workflow: Report, cron: '0 * * * *', timezone: 'Europe/Berlin', args: ['x', 1] });
    expect(created).toMatchObject({ name: 'hourly-report', workflowName: 'Report', state: 'active', source: 'api', catchUp: 'skip', overlap: 'allow', args: ['x', 1] });
    expect(created.nextTickAt).toEqual(new Date(Date.UTC(2030, 0, 1, 1)));

    // Bad input and unknown names are typed errors.
    expect(await rejectionOf(executor.schedules.create({ name: 'hourly-report', workflow: Report, cron: '0 * * * *' }))).toBeInstanceOf(ScheduleExistsError);
    const bad = await rejectionOf(executor.schedules.create({ name: 'bad', workflow: Report, cron: '0 25 * * *' }));
    expect(bad).toBeInstanceOf(InvalidScheduleError);
    expect((bad as InvalidScheduleError).code).toBe('STENT_INVALID_SCHEDULE');
    expect(await rejectionOf(executor.schedules.create({ name: 'zone', workflow: Report, cron: '0 * * * *', timezone: 'Mars/Olympus' }))).toBeInstanceOf(InvalidScheduleError);
    expect(await rejectionOf(executor.schedules.pause('nope'))).toBeInstanceOf(ScheduleNotFoundError);
    expect((await rejectionOf(executor.schedules.get('nope'))).message).toMatch(/No schedule named 'nope'/);

    // A trigger runs once now, marked manual.
    const { executionId } = await executor.schedules.trigger('hourly-report');
    const triggered = await nudgeUntil(clock, async () => ((await executor.getExecution(executionId)).state === 'completed' ? executor.waitFor(executionId) : null), 'the triggered run');
    expect(triggered.value).toEqual({ tick: { schedule: 'hourly-report', tickAt: new Date(START).toISOString(), manual: true }, args: ['x', 1] });

    // The first tick fires; then, paused, two hours pass without a run.
    clock.advanceTo(Date.UTC(2030, 0, 1, 1));
    await waitUntil(async () => (await runsOf(executor, 'Report')).length === 2, 'the 01:00 tick');
    const paused = await executor.schedules.pause('hourly-report');
    expect(paused).toMatchObject({ state: 'paused', nextTickAt: null });
    const pausedAt = clock.now();
    clock.advance('2h');
    for (let i = 0; i < 5; i++) clock.advance('1s');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await runsOf(executor, 'Report')).toHaveLength(2);

    // Backfill runs the ticks missed meanwhile, once: a second backfill (and the tick already run) add nothing.
    const backfill = await executor.schedules.backfill('hourly-report', { from: pausedAt - HOUR + 1_000, to: clock.now() });
    expect(backfill.ticks).toBe(3);
    expect(backfill.created).toHaveLength(2);
    expect((await executor.schedules.backfill('hourly-report', { from: new Date(pausedAt), to: new Date(clock.now()) })).created).toEqual([]);
    const afterBackfill = await runsOf(executor, 'Report');
    expect(afterBackfill.filter((run) => !run.tick.manual || run.idempotencyKey).map((run) => run.tick.tickAt)).toEqual([
      '2030-01-01T01:00:00.000Z',
      '2030-01-01T02:00:00.000Z',
      '2030-01-01T03:00:00.000Z',
    ]);

    // Resumed, it fires from the next tick on.
    const resumed = await executor.schedules.resume('hourly-report');
    expect(resumed.state).toBe('active');
    expect(resumed.nextTickAt).toEqual(new Date(Date.UTC(2030, 0, 1, 4)));
    clock.advanceTo(Date.UTC(2030, 0, 1, 4));
    await waitUntil(async () => (await runsOf(executor, 'Report')).length === 5, 'the 04:00 tick');

    // A new expression counts from now; delete removes it (its runs stay).
    const updated = await executor.schedules.update('hourly-report', { cron: '*/30 * * * *', overlap: 'skip' });
    expect(updated).toMatchObject({ cron: '*/30 * * * *', overlap: 'skip', args: ['x', 1] });
    expect(updated.nextTickAt!.getTime()).toBeLessThanOrEqual(clock.now() + 30 * 60_000);
    expect(await rejectionOf(executor.schedules.update('hourly-report', { catchUp: -1 }))).toBeInstanceOf(InvalidScheduleError);
    await executor.schedules.delete('hourly-report');
    expect((await executor.schedules.list()).map((s) => s.name)).toEqual(['TenSeconds']);
    expect(await rejectionOf(executor.schedules.delete('hourly-report'))).toBeInstanceOf(ScheduleNotFoundError);
    expect(await runsOf(executor, 'Report')).toHaveLength(5);
  });

  it("overlap 'skip' drops ticks while the previous run is still going on", async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(START);
    const executor = await set.executor(manualInstances(), QUICK_WORKER, true, clock);
    await executor.schedules.pause('TenSeconds');
    await executor.schedules.create({ name: 'long', workflow: LongReport, cron: '*/10 * * * * *', overlap: 'skip' });
    await nudgeUntil(clock, async () => (await runsOf(executor, 'LongReport')).length === 1, 'the first run', 1_000);
    const [first] = await runsOf(executor, 'LongReport');
    const tickedAt = clock.now();
    await nudgeUntil(clock, async () => (await executor.schedules.get('long')).lastTickAt!.getTime() >= tickedAt + 20_000, 'two more ticks to pass', 1_000);
    expect(await runsOf(executor, 'LongReport')).toHaveLength(1);
    await executor.sendSignal(first!.id, 'done');
    await nudgeUntil(clock, async () => (await executor.getExecution(first!.id)).state === 'completed', 'the first run to finish');
    await nudgeUntil(clock, async () => (await runsOf(executor, 'LongReport')).length === 2, 'the next tick to run', 1_000);
  });

  it('a worker with schedules: false never fires them (fireDue does); a bad checkInterval is refused', async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(START);
    const executor = await set.executor(manualInstances(), { ...QUICK_WORKER, schedules: false }, true, clock);
    for (let i = 0; i < 25; i++) clock.advance('1s');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await runsOf(executor, 'TenSeconds')).toEqual([]);
    // Due ticks within the last minute: 00:00:10, :20 and :30.
    expect(await executor.schedules.fireDue()).toBe(3);
    expect((await runsOf(executor, 'TenSeconds')).map((run) => run.tick.tickAt)).toEqual(['2030-01-01T00:00:10.000Z', '2030-01-01T00:00:20.000Z', '2030-01-01T00:00:30.000Z']);
    expect(await executor.schedules.fireDue()).toBe(0);
    expect(await rejectionOf(set.executor(manualInstances(), { ...QUICK_WORKER, schedules: { checkInterval: '1ms' } }, false))).toBeInstanceOf(ConfigurationError);
  });
});
