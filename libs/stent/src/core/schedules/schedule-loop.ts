import type { Clock } from '../clock/clock.js';
import { CoalescedLoop } from '../clock/coalesced-loop.js';
import type { StentLogger } from '../logger.js';
import type { ScheduleRecord, ScheduleStore } from '../store/index.js';
import { planFiring } from './firing-plan.js';
import { scheduledRun } from './scheduled-run.js';

/**
 * Fires due schedules. Every worker looks every `checkMs` on the engine Clock; a firing moves the
 * schedule's next tick on and creates the tick's runs in one transaction, conditional on the next tick
 * it read, and each run carries its tick's idempotency key: however many workers look at once, and
 * whichever of them dies half-way, each tick starts exactly one execution.
 */
export class ScheduleLoop {
  private readonly loop: CoalescedLoop;

  constructor(
    private readonly store: ScheduleStore,
    private readonly clock: Clock,
    private readonly logger: StentLogger,
    checkMs: number,
  ) {
    this.loop = new CoalescedLoop(clock, checkMs, () => this.fireDue(), (error) =>
      this.logger.warn(`Stent schedules: could not read due schedules (${message(error)}); trying again`),
    );
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async fireDue(): Promise<void> {
    await fireDueSchedules(this.store, this.clock.now(), this.logger, () => this.loop.stopped);
  }
}

/**
 * Fires every schedule due at `now` (what each worker's loop does every period; the testing harness calls
 * it as time moves). Returns how many executions it started.
 */
export async function fireDueSchedules(store: ScheduleStore, now: number, logger: StentLogger, stopped: () => boolean = () => false): Promise<number> {
  let started = 0;
  for (const schedule of await store.dueSchedules(now)) {
    if (stopped()) break;
    try {
      started += await fire(store, schedule, now, logger);
    } catch (error) {
      logger.warn(`Stent schedules: could not fire schedule '${schedule.name}' (${message(error)}); trying again`);
    }
  }
  return started;
}

async function fire(store: ScheduleStore, schedule: ScheduleRecord, now: number, logger: StentLogger): Promise<number> {
  const plan = planFiring(schedule, now);
  const fired = await store.fireSchedule({
    name: schedule.name,
    expectedNextTickAt: schedule.nextTickAt!,
    nextTickAt: plan.nextTickAt,
    lastTickAt: plan.lastTickAt,
    executions: plan.run.map((tick) => scheduledRun(schedule, tick, now, false)),
    skipIfRunning: schedule.overlap === 'skip',
    now,
  });
  if (!fired.advanced) return 0;
  if (plan.skipped > 0) logger.log(`Stent schedules: '${schedule.name}' skipped ${plan.skipped} missed tick(s) (catchUp ${schedule.catchUp || "'skip'"})`);
  if (fired.skippedOverlap) logger.log(`Stent schedules: '${schedule.name}' skipped its tick: the previous run is still going on (overlap 'skip')`);
  return fired.created.length;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
