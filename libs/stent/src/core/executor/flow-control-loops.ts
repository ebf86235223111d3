import type { Clock } from '../clock/clock.js';
import type { Registry } from '../definitions/registry.js';
import type { StentLogger } from '../logger.js';
import { ScheduleLoop } from '../schedules/schedule-loop.js';
import { newScheduleRecord } from '../schedules/schedule-operations.js';
import { scheduleCheckMs } from '../schedules/schedule-settings.js';
import type { StentStore } from '../store/index.js';
import type { WorkerOptions } from '../worker/worker-settings.js';
import { SingletonReleaseLoop } from './singleton-release-loop.js';

/**
 * What a process with a worker runs for flow control besides claiming: it writes the schedules its
 * workflows declare, fires due schedules (unless worker.schedules is false) and hands singleton keys on.
 */
export class FlowControlLoops {
  private readonly scheduleLoop: ScheduleLoop | null;
  private readonly singletonRelease: SingletonReleaseLoop;

  constructor(
    private readonly store: StentStore,
    private readonly registry: Registry,
    private readonly clock: Clock,
    logger: StentLogger,
    scheduling: WorkerOptions['schedules'],
  ) {
    this.scheduleLoop = scheduling === false ? null : new ScheduleLoop(store, clock, logger, scheduleCheckMs(scheduling));
    this.singletonRelease = new SingletonReleaseLoop(store, clock, logger);
  }

  async start(): Promise<void> {
    await this.syncDeclaredSchedules();
    this.scheduleLoop?.start();
    this.singletonRelease.start();
  }

  async stop(): Promise<void> {
    await this.scheduleLoop?.stop();
    await this.singletonRelease.stop();
  }

  /** Writes the schedules the registered workflows declare (@Workflow({ schedule })) to the database. */
  private async syncDeclaredSchedules(): Promise<void> {
    const now = this.clock.now();
    for (const name of this.registry.workflowNames()) {
      const { definition } = this.registry.workflow(name)!;
      if (definition.schedule) await this.store.syncDeclaredSchedule(newScheduleRecord(definition.name, definition, definition.schedule, 'decorator', now));
    }
  }
}
