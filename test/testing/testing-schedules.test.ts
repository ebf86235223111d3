import 'reflect-metadata';
import { afterEach, describe, expect, it } from 'vitest';
import { Test, type TestingModule } from '@nestjs/testing';
import { StentExecutor, Workflow, type ScheduleTick } from 'nestjs-stent';
import { ManualClock, StentTestHarness, StentTestingModule } from 'nestjs-stent/testing';

/** Every hour in Berlin: returns the tick it ran for. */
@Workflow({ schedule: { cron: '0 * * * *', timezone: 'Europe/Berlin' } })
class HourlyTick {
  async run(tick: ScheduleTick): Promise<string> {
    return tick.tickAt;
  }
}

describe('schedules under the testing module', () => {
  let moduleRef: TestingModule | undefined;
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  it('advance() stops at every tick on the way, so each runs once, on the manual clock', async () => {
    moduleRef = await Test.createTestingModule({ imports: [StentTestingModule.forRoot()], providers: [HourlyTick] }).compile();
    await moduleRef.init();
    const [harness, executor, clock] = [moduleRef.get(StentTestHarness), moduleRef.get(StentExecutor), moduleRef.get(ManualClock)];
    const start = clock.now();
    await harness.advance('3h30m');
    const { items } = await executor.listExecutions({ workflowName: 'HourlyTick' });
    const ticks = items.map((item) => (item.args[0] as ScheduleTick).tickAt).sort();
    const firstHour = Math.floor(start / 3_600_000) * 3_600_000 + 3_600_000;
    expect(ticks).toEqual([0, 1, 2].map((i) => new Date(firstHour + i * 3_600_000).toISOString()));
    expect(items.every((item) => item.state === 'completed')).toBe(true);
    expect((await executor.schedules.get('HourlyTick')).nextTickAt).toEqual(new Date(firstHour + 3 * 3_600_000));
  });

  it('a paused workflow type holds its runs through advance() and drain() (no drain time-out); resumed, they run', async () => {
    moduleRef = await Test.createTestingModule({ imports: [StentTestingModule.forRoot({ drainTimeout: '5s' })], providers: [HourlyTick] }).compile();
    await moduleRef.init();
    const [harness, executor] = [moduleRef.get(StentTestHarness), moduleRef.get(StentExecutor)];
    await executor.pauseWorkflow(HourlyTick);
    await harness.advance('1h');
    const [held] = (await executor.listExecutions({ workflowName: 'HourlyTick' })).items;
    expect(held?.state).toBe('pending');
    await executor.resumeWorkflow(HourlyTick);
    await harness.drain();
    expect((await executor.getExecution(held!.id)).state).toBe('completed');
  });
});
