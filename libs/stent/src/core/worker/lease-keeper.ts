import { hostname } from 'node:os';
import { repeatOn, type Timer } from '../clock/clock.js';
import type { Worker } from './worker.js';

/**
 * The worker's heartbeat: renews the leases of what it still holds (runs in memory, attempts running),
 * aborts attempts whose execution ended meanwhile, and records the worker itself as alive.
 */
export class LeaseKeeper {
  private timer: Timer | undefined;
  private startedAt = 0;

  constructor(private readonly worker: Worker) {}

  /** Records the worker (telling the others it joined) and starts the heartbeat. */
  async start(): Promise<void> {
    const { worker } = this;
    this.startedAt = worker.clock.now();
    await this.recordSelf(worker.state, true);
    this.timer = repeatOn(worker.clock, worker.settings.heartbeatMs, () => void this.beat());
  }

  stop(): void {
    this.timer?.cancel();
  }

  /** Renews at once (an activity's heartbeat()); failures are left to the next beat. */
  renewNow(): void {
    const { worker } = this;
    void worker.store.renewLeases(worker.ownerId, worker.clock.now(), worker.settings.leaseMs, this.held()).catch(() => {});
  }

  private async beat(): Promise<void> {
    const { worker } = this;
    if (worker.state === 'stopped') return;
    try {
      const ended = await worker.store.renewLeases(worker.ownerId, worker.clock.now(), worker.settings.leaseMs, this.held());
      for (const stepId of ended) {
        const attempt = worker.runner.attempts.get(stepId);
        if (attempt && !attempt.abort.signal.aborted) worker.executionEnded(attempt.step.executionId);
      }
      await this.recordSelf();
    } catch (error) {
      worker.logger.error(`Worker ${worker.ownerId}: heartbeat failed`, error, { workerId: worker.ownerId });
    }
  }

  /** What this worker holds leases for right now (the heartbeat renews these and nothing else). */
  private held(): { executions: string[]; steps: string[] } {
    return { executions: this.worker.heldRuns(), steps: [...this.worker.runner.attempts.keys()] };
  }

  recordSelf(state: string = this.worker.state, joined = false): Promise<void> {
    const { worker } = this;
    return worker.store.recordWorker(worker.ownerId, {
      hostname: hostname(),
      pid: process.pid,
      queues: worker.settings.queues,
      startedAt: this.startedAt,
      now: worker.clock.now(),
      state,
      joined,
      // What it serves, for operators (written with the first record; later heartbeats update state only).
      tags: worker.settings.tags,
      workflows: worker.registry.workflowNames(),
      workflowRoutes: Object.fromEntries(
        worker.registry.workflowNames().map((name) => {
          const { queue, priority, tags, maxDurationMs } = worker.registry.workflow(name)!.definition;
          return [name, { queue, priority, tags, maxDurationMs }];
        }),
      ),
      activities: worker.registry.activityNames(),
      concurrency: worker.settings.concurrency,
      leaseMs: worker.settings.leaseMs,
    });
  }
}
