import { hostname } from 'node:os';
import { repeatOn, type Timer } from '../clock/clock.js';
import { LeaseLostError } from '../errors/index.js';
import type { RenewResult } from '../store/index.js';
import type { Worker } from './worker.js';

/**
 * The worker's heartbeat: renews the leases of what it still holds (runs in memory, attempts running),
 * gives up what it no longer holds (taken over, or not renewed before its lease ran out), aborts attempts
 * whose execution ended meanwhile, and records the worker itself as alive.
 */
export class LeaseKeeper {
  private timer: Timer | undefined;
  private startedAt = 0;
  /** When the lease of each held row runs out, on the engine clock, as of its claim or last renewal. */
  private readonly expiresAt = new Map<string, number>();
  /** Attempts given up after their lease was lost: their body may still run, but they are not renewed. */
  private readonly givenUp = new Set<string>();
  /** Start times of renewals sent and not answered yet (each may have extended every lease it named). */
  private readonly inFlight = new Set<number>();
  /** Heartbeats started and not finished (a renewal, then the worker's own row). */
  private beating = 0;

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

  /**
   * A heartbeat or renewal is on its way. A clock moved on meanwhile (a test's ManualClock) may judge its
   * leases by a renewal that reached the database and whose answer has not been read yet: each one left
   * unanswered moves the time the worker gives its attempts up to, and a jump past that drops them.
   */
  get busy(): boolean {
    return this.beating > 0 || this.inFlight.size > 0;
  }

  /** Renews at once (an activity's heartbeat()); failures are left to the next beat. */
  renewNow(): void {
    const { worker } = this;
    const now = worker.clock.now();
    void this.renew(now)
      .catch(() => {})
      .finally(() => worker.changed());
  }

  private async renew(now: number): Promise<void> {
    const { worker } = this;
    this.inFlight.add(now);
    try {
      this.renewed(await worker.store.renewLeases(worker.ownerId, now, worker.settings.leaseMs, this.held()), now);
    } finally {
      this.inFlight.delete(now);
    }
  }

  private async beat(): Promise<void> {
    const { worker } = this;
    if (worker.state === 'stopped') return;
    // Checked before renewing: a renewal that hangs (the database out of reach) must not keep a worker
    // running work whose lease has run out, which another worker may be running already.
    const now = worker.clock.now();
    this.dropExpired(now);
    this.beating++;
    try {
      await this.renew(now);
      await this.recordSelf();
    } catch (error) {
      worker.logger.error(`Worker ${worker.ownerId}: heartbeat failed`, error, { workerId: worker.ownerId });
    } finally {
      this.beating--;
      worker.changed();
    }
  }

  /**
   * Extends everything held past a jump of `ms` of a clock this process controls (the testing harness moving
   * a ManualClock): the process is alive throughout, so nothing it holds may look expired after the jump.
   */
  async holdAcross(ms: number): Promise<void> {
    const { worker } = this;
    const now = worker.clock.now();
    const leaseMs = ms + worker.settings.leaseMs;
    this.renewed(await worker.store.renewLeases(worker.ownerId, now, leaseMs, this.held()), now, leaseMs);
  }

  private renewed(result: RenewResult, at: number, leaseMs = this.worker.settings.leaseMs): void {
    const { worker } = this;
    const until = at + leaseMs;
    for (const id of [...result.renewed.executions, ...result.renewed.steps]) {
      if ((this.expiresAt.get(id) ?? -Infinity) < until) this.expiresAt.set(id, until);
    }
    for (const stepId of result.lost.steps) {
      // A claimed step still waiting for a slot that another worker took over is not started here.
      if (worker.runner.waiting.delete(stepId)) continue;
      const attempt = worker.runner.attempts.get(stepId);
      // An attempt whose outcome is decided let go of its row itself (it is being, or was, written).
      if (attempt && !attempt.decided) this.giveUpAttempt(stepId, 'taken over');
    }
    for (const executionId of result.lost.executions) this.giveUpRun(executionId, 'taken over');
    for (const stepId of result.ended) {
      worker.runner.waiting.delete(stepId);
      const attempt = worker.runner.attempts.get(stepId);
      if (attempt && !attempt.abort.aborted) worker.executionEnded(attempt.step.executionId);
    }
  }

  /** Gives up every held row whose lease has run out (as the reaper judges it) without a renewal reaching it. */
  private dropExpired(now: number): void {
    const { worker } = this;
    const leaseMs = worker.settings.leaseMs;
    // A renewal still unanswered may have gone through (its answer can be late on a busy process); the
    // oldest one gives the benefit of the doubt for one lease from when it was sent, and no longer.
    const unanswered = this.inFlight.size > 0 ? Math.min(...this.inFlight) + leaseMs : -Infinity;
    const still = new Set<string>();
    for (const [stepId, attempt] of worker.runner.attempts) {
      if (this.givenUp.has(stepId) || attempt.decided) continue;
      still.add(stepId);
      const expires = Math.max(this.expiresAt.get(stepId) ?? (attempt.step.startedAt ?? attempt.startedAt) + leaseMs, unanswered);
      if (expires < now) this.giveUpAttempt(stepId, 'not renewed in time');
    }
    for (const [stepId, step] of worker.runner.waiting) {
      still.add(stepId);
      const expires = Math.max(this.expiresAt.get(stepId) ?? (step.startedAt ?? now) + leaseMs, unanswered);
      if (expires < now) worker.runner.waiting.delete(stepId);
    }
    for (const executionId of worker.runs.leased()) {
      const run = worker.runs.get(executionId);
      if (!run || run.ended) continue;
      still.add(executionId);
      const expires = Math.max(this.expiresAt.get(executionId) ?? run.execution.updatedAt + leaseMs, unanswered);
      if (expires < now) this.giveUpRun(executionId, 'not renewed in time');
    }
    for (const id of this.expiresAt.keys()) if (!still.has(id)) this.expiresAt.delete(id);
    for (const id of this.givenUp) if (!worker.runner.attempts.has(id)) this.givenUp.delete(id);
  }

  /**
   * A new attempt of the step holds its lease: whatever was known of an earlier attempt's (given up, or
   * renewed until some time) is not this one's. Steps are tracked by id, and an earlier attempt can still
   * be in the runner's table when its step is claimed again (its outcome being written, or its lease lost).
   */
  attemptStarted(stepId: string, waited = false): void {
    this.givenUp.delete(stepId);
    // A step that waited for a slot here was renewed as it waited (see ActivityRunner.waiting): that is its lease.
    if (!waited) this.expiresAt.delete(stepId);
  }

  private giveUpAttempt(stepId: string, why: LeaseLostError['why']): void {
    const attempt = this.worker.runner.attempts.get(stepId);
    if (!attempt || this.givenUp.has(stepId)) return;
    this.givenUp.add(stepId);
    this.expiresAt.delete(stepId);
    const error = new LeaseLostError('step', stepId, why);
    this.worker.logger.warn(`Activity ${attempt.step.name} #${attempt.step.position} of execution ${attempt.step.executionId}: ${error.message}; its AbortSignal fires`);
    // The slot stays taken until the body returns; whatever it then records is refused if another worker took over.
    if (!attempt.abort.aborted) attempt.abort.abort(error);
  }

  private giveUpRun(executionId: string, why: LeaseLostError['why']): void {
    const run = this.worker.runs.get(executionId);
    if (!run || run.ended) return;
    this.expiresAt.delete(executionId);
    run.abandon(`lease lost (${new LeaseLostError('execution', executionId, why).message})`);
  }

  /** What this worker holds leases for right now (the heartbeat renews these and nothing else). */
  private held(): { executions: string[]; steps: string[] } {
    const steps = [...this.worker.runner.attempts.keys()].filter((id) => !this.givenUp.has(id));
    steps.push(...this.worker.runner.waiting.keys());
    return { executions: this.worker.runs.leased(), steps };
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
