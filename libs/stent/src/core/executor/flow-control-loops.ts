import { repeatOn, type Clock, type Timer } from '../clock/clock.js';
import type { Registry } from '../definitions/registry.js';
import type { StentLogger } from '../logger.js';
import { ScheduleLoop } from '../schedules/schedule-loop.js';
import { newScheduleRecord } from '../schedules/schedule-operations.js';
import { scheduleCheckMs } from '../schedules/schedule-settings.js';
import type { StentStore } from '../store/index.js';
import type { WorkerOptions } from '../worker/worker-settings.js';
import type { Worker } from '../worker/worker.js';
import { SingletonReleaseLoop } from './singleton-release-loop.js';

/** How often a worker reads which queues are paused (for the steps it claims as they are inserted). */
const PAUSED_QUEUES_MS = 1000;

/**
 * What a process with a worker runs for flow control besides claiming: it writes the schedules its
 * workflows declare, fires due schedules (unless worker.schedules is false), hands singleton keys on and
 * keeps the worker's list of paused queues current.
 */
export class FlowControlLoops {
  private readonly scheduleLoop: ScheduleLoop | null;
  private readonly singletonRelease: SingletonReleaseLoop;
  private pausedTimer: Timer | undefined;

  constructor(
    private readonly worker: Worker,
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
    await this.readPausedQueues();
    this.pausedTimer ??= repeatOn(this.clock, PAUSED_QUEUES_MS, () => void this.readPausedQueues());
    this.pausedTimer.unref();
  }

  /** Reads the paused queues and workflow types now (also after this process pauses or resumes one). */
  async readPausedQueues(): Promise<void> {
    try {
      const paused = await this.store.listPaused();
      this.worker.pausedQueues = new Set(paused.filter((entry) => entry.kind === 'queue').map((entry) => entry.name));
      this.worker.pausedWorkflows = new Set(paused.filter((entry) => entry.kind === 'workflow').map((entry) => entry.name));
    } catch {
      // Kept as it was; the claim statements read the pauses themselves, this only guards steps claimed at insert.
    }
  }

  /** A singleton dispatch from this process may queue behind a key: look at each execution's end again. */
  singletonDispatched(): void {
    this.singletonRelease.expectWaiters();
  }

  async stop(): Promise<void> {
    this.pausedTimer?.cancel();
    this.pausedTimer = undefined;
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
