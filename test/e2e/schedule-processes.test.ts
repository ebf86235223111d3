import { describe, expect, it } from 'vitest';
import type { ScheduleTick, StentExecutor, WorkerOptions } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { jsonlRecords, processBench } from '../support/process-bench.js';
import { waitUntil } from '../support/wait.js';
import { WorkerProcess } from '../support/worker-process.js';
import type { StampRecord } from '../fixtures/schedule-flows.js';

// A short lease so the run of the killed worker is taken over within the test; long enough for a loaded machine.
const WORKER: WorkerOptions = { concurrency: 4, lease: '5s', pollInterval: '50ms', maxPollInterval: '250ms' };

const stamps = (dir: string) => jsonlRecords<StampRecord>(dir, '.schedule.jsonl');

async function runs(client: StentExecutor) {
  const { items } = await client.listExecutions({ workflowName: 'EverySecond' }, { limit: 500 });
  return items.map((item) => ({ id: item.id, state: item.state, key: item.idempotencyKey, tick: item.args[0] as ScheduleTick }));
}

describe.each(DIALECTS)('a schedule every second across three worker processes (%s)', (dialect) => {
  const bench = processBench(dialect, 'stent-schedules-');
  const { evidence } = bench;

  it('runs each tick once, loses none when a worker is killed mid-run, stops when paused, and backfill runs the ticks missed', async () => {
    const db = await bench.database();
    const spawn = { url: db.url, worker: WORKER, fixture: 'schedule-flows.js', instances: 'scheduleInstances', evidenceDir: evidence.dir, poolSize: 3 };
    const workers = await Promise.all([WorkerProcess.start(spawn), WorkerProcess.start(spawn), WorkerProcess.start(spawn)]);
    const c = await bench.client();

    await waitUntil(async () => (await runs(c)).length >= 4, 'four ticks to start', 60_000);
    // Kill a worker while a tick's run is in its activity body.
    const victim = await waitUntil(
      () => {
        const records = stamps(evidence.dir);
        const open = records.filter((r) => r.ev === 'start' && !records.some((e) => e.ev === 'end' && e.executionId === r.executionId && e.pid === r.pid));
        return workers.find((w) => open.some((r) => r.pid === w.pid));
      },
      'a worker running a tick',
      60_000,
      5,
    );
    await victim.kill();
    const afterKill = (await runs(c)).length;
    await waitUntil(async () => (await runs(c)).length >= afterKill + 4, 'four more ticks after the kill', 60_000);

    const paused = await c.schedules.pause('EverySecond');
    expect(paused.state).toBe('paused');
    const atPause = await runs(c);
    const lastTick = Math.max(...atPause.map((r) => Date.parse(r.tick.tickAt)));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // Nothing fired while paused (a firing that committed before the pause is in atPause already).
    expect((await runs(c)).length).toBe(atPause.length);

    const backfill = await c.schedules.backfill('EverySecond', { from: lastTick - 2_000, to: Date.now() });
    expect(backfill.created.length).toBe(backfill.ticks - 3);
    expect(backfill.created.length).toBeGreaterThanOrEqual(2);

    await waitUntil(async () => (await runs(c)).every((r) => r.state === 'completed'), 'every run to complete', 120_000, 200);
    const all = await runs(c);
    const ticks = all.map((r) => Date.parse(r.tick.tickAt)).sort((a, b) => a - b);
    // One run per tick, every second from the first tick to the last backfilled one: none lost, none twice.
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(ticks).toEqual(ticks.map((_, i) => ticks[0]! + i * 1_000));
    expect(new Set(all.map((r) => r.key)).size).toBe(all.length);
    // Every run's activity finished (the killed worker's body was run again elsewhere).
    const ended = new Set(stamps(evidence.dir).filter((r) => r.ev === 'end').map((r) => r.executionId));
    expect(all.filter((r) => !ended.has(r.id))).toEqual([]);
    expect(all.filter((r) => r.tick.manual).length).toBe(backfill.created.length);
  });
});
