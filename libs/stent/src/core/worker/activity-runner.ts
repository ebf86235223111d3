import { createHash } from 'node:crypto';
import type { Timer } from '../clock/clock.js';
import { scopeStorage } from '../context.js';
import { ActivityTimeoutError, ConfigurationError } from '../errors/index.js';
import { decode } from '../serialization.js';
import type { StepRecord } from '../store/index.js';
import type { WorkflowRun } from '../run/workflow-run.js';
import { SlotTable } from '../slot-table.js';
import { CarriedSlots } from './carried-slots.js';
import { LazyAbort } from './lazy-abort.js';
import { AttemptScope } from './attempt-scope.js';
import { attemptOutcome, CACHED, type AttemptResult } from './attempt-outcome.js';
import type { Worker } from './worker.js';

/**
 * What an attempt's `done` and `bodySettled` hold until its body is started a few lines later: one
 * settled promise for every attempt rather than two new ones per step (each also passes through the
 * promise hooks AsyncLocalStorage installs).
 */
const NOT_STARTED: Promise<void> = Promise.resolve();

export interface RunningAttempt {
  step: StepRecord;
  abort: LazyAbort;
  startedAt: number;
  done: Promise<void>;
  /** Settles when the activity body itself returns or throws (after a timeout it may still be running). */
  bodySettled: Promise<void>;
  bodyDone: boolean;
  /** Its outcome is decided (being written, or handed to its workflow); the body may still run. */
  decided: boolean;
}

/**
 * Runs activity attempts in this process's slots: the body in its activity scope (attempt number,
 * AbortSignal, heartbeat), the stored result when the activity is cached, the per-attempt time-out. The
 * outcome goes to the workflow at once when it runs here, or to the completion batcher.
 */
export class ActivityRunner {
  /** By step id; a SlotTable, not a Map, so that V8 does not promote every attempt (see SlotTable). */
  readonly attempts = new SlotTable<string, RunningAttempt>();
  /**
   * Bodies of timed-out attempts that ignored their AbortSignal and still run: their outcome is recorded,
   * but they keep their slot (and count against their activity's maxConcurrent here) until they return.
   */
  readonly lingering = new Set<RunningAttempt>();
  /**
   * Steps a claim took for slots that this worker's own new steps filled while the claim was on its way:
   * leased to this worker (the heartbeat renews them), started in claim order as slots free, so no more
   * than `concurrency` bodies ever run at once.
   */
  readonly waiting = new Map<string, StepRecord>();
  /** Slots of finished activities kept for their runs' next calls until the end of the turn (see CarriedSlots). */
  readonly carried: CarriedSlots;

  constructor(private readonly worker: Worker) {
    this.carried = new CarriedSlots(() => this.slotsReturned());
  }

  /** Carried slots went back unspent: steps waiting for a slot start in them, and a claim round may fill the rest. */
  slotsReturned(): void {
    this.worker.changed();
    this.startWaiting();
    this.worker.loop.poke();
  }

  /**
   * Bodies that still run past the outcome of their attempt: lingering ones, and those of attempts whose
   * outcome is being written (the database no longer counts them as running once it is).
   */
  *bodiesPastOutcome(): Iterable<RunningAttempt> {
    yield* this.lingering;
    for (const attempt of this.attempts.values()) if (attempt.decided && !attempt.bodyDone) yield attempt;
  }

  /** Slots neither running, promised nor owed to a waiting step. */
  freeSlots(): number {
    return this.slotsNow() - this.waiting.size;
  }

  /** Slots no body takes and none is promised or carried, waiting steps aside. */
  private slotsNow(): number {
    return this.worker.settings.concurrency - this.attempts.size - this.lingering.size - this.worker.local.reserved - this.carried.size;
  }

  /** No attempt runs, none is promised or waiting for a slot, and no timed-out body lingers. */
  get idle(): boolean {
    return this.attempts.size === 0 && this.worker.local.reserved === 0 && this.lingering.size === 0 && this.waiting.size === 0;
  }

  /** Runs claimed steps: in the slots free now, in claim order; the rest wait for theirs (see waiting). */
  runClaimed(steps: StepRecord[]): void {
    this.startWaiting();
    for (const step of steps) {
      if (this.waiting.size === 0 && this.slotsNow() > 0) this.run(step, this.worker.runs.get(step.executionId));
      else this.waiting.set(step.id, step);
    }
  }

  /** Starts waiting steps while slots are free (a draining or stopped worker starts none: stopping hands them back). */
  startWaiting(): void {
    if (this.waiting.size === 0 || this.worker.state !== 'running') return;
    for (const [id, step] of this.waiting) {
      if (this.slotsNow() <= 0) return;
      this.waiting.delete(id);
      this.run(step, this.worker.runs.get(step.executionId), true);
    }
  }

  /** Fires the AbortSignal of every attempt still running. */
  abortAll(reason: string): void {
    for (const attempt of this.attempts.values()) attempt.abort.abort(new Error(reason));
  }

  /** `waited`: the step waited for a slot here, its lease renewed all along (see waiting). */
  run(step: StepRecord, run: WorkflowRun | undefined, waited = false): void {
    const { worker } = this;
    const { clock, store } = worker;
    const registered = worker.registry.activity(step.name);
    const abort = new LazyAbort();
    const startedAt = clock.now();
    run?.attemptStarted(step.position);
    const attempt: RunningAttempt = { step, abort, startedAt, done: NOT_STARTED, bodySettled: NOT_STARTED, bodyDone: false, decided: false };
    // The previous attempt of this step, still here when a claim round took the step again before the write
    // of its outcome returned, or after its lease was lost: it leaves the table (an outcome it has not decided
    // yet is never written), but a body of it that still runs keeps its slot.
    const previous = this.attempts.get(step.id);
    if (previous && !previous.bodyDone) this.linger(previous, step.executionId);
    this.attempts.set(step.id, attempt);
    worker.leases.attemptStarted(step.id, waited);
    worker.events.emit('step.started', { executionId: step.executionId, stepId: step.id, position: step.position, name: step.name, attempt: step.attempts });
    const scope = new AttemptScope(step, abort, worker.leases);
    let cacheKey: string | undefined;
    const body = async (): Promise<unknown> => {
      if (!registered) throw new ConfigurationError(`Activity '${step.name}' is not registered in this worker`);
      const args = decode(step.args) as unknown[];
      const cache = registered.definition.cache;
      if (cache) {
        cacheKey = storableCacheKey(
          cache.key
            ? `${step.name}:${String(cache.key(...args))}`
            : `${step.name}:${cache.version}:${createHash('sha256').update(step.args ?? '').digest('hex')}`,
        );
        const stored = await store.lookupCache(cacheKey, clock.now());
        if (stored !== null) return { [CACHED]: stored };
      }
      return registered.body.apply(registered.instance, args);
    };
    let timer: Timer | undefined;
    const outcome = new Promise<AttemptResult>((resolve) => {
      if (step.timeoutMs !== null) {
        timer = clock.setTimer(step.timeoutMs, () => {
          const error = new ActivityTimeoutError(step.name, step.timeoutMs!);
          abort.abort(error);
          resolve({ ok: false, error });
        });
      }
      // bodyDone is set before the outcome is handed on, so whoever handles the outcome knows the body returned.
      const wrapper = worker.attemptWrapper;
      attempt.bodySettled = scopeStorage.run(scope, wrapper ? () => wrapper(step.id, body) : body).then(
        (value) => {
          attempt.bodyDone = true;
          resolve({ ok: true, value });
        },
        (error: unknown) => {
          attempt.bodyDone = true;
          resolve({ ok: false, error });
        },
      );
    });
    attempt.done = outcome.then((result) => {
      timer?.cancel();
      if (this.attempts.get(step.id) !== attempt) return;
      const cache = registered?.definition.cache;
      this.settle(attempt, result, run, cacheKey && cache ? { key: cacheKey, expiresAt: cache.ttlMs === null ? null : clock.now() + cache.ttlMs } : undefined);
    });
  }

  private settle(attempt: RunningAttempt, result: AttemptResult, run: WorkflowRun | undefined, cache: { key: string; expiresAt: number | null } | undefined): void {
    const { worker } = this;
    const { step } = attempt;
    attempt.decided = true;
    const now = worker.clock.now();
    const { outcome, failure, willRetry } = attemptOutcome(step, result, cache, now);
    if (outcome.kind === 'completed') {
      worker.events.emit('step.completed', { executionId: step.executionId, stepId: step.id, position: step.position, name: step.name, attempt: step.attempts, durationMs: now - attempt.startedAt });
    } else {
      const error = failure instanceof Error ? failure : new Error(String(failure));
      const { executionId, id: stepId, position, name, attempts: attempt } = step;
      if (outcome.kind !== 'parked') worker.events.emit('step.failed', { executionId, stepId, position, name, attempt, error, willRetry: willRetry ?? false });
      if (outcome.kind === 'retry' || outcome.kind === 'parked') worker.events.emit('step.retried', { executionId, stepId, position, name, attempt, error, retryAt: outcome.availableAt });
      else if (outcome.kind === 'failed') worker.events.emit('step.dead_lettered', { executionId, stepId, position, name, attempt, error, reason: outcome.deadLetterReason });
    }
    const holder = run && !run.ended ? run : worker.runs.get(step.executionId);
    if (outcome.kind === 'failed') this.logDeadLetter(step, outcome.deadLetterReason, failure, holder?.execution.workflowName);
    const fence = { stepId: step.id, owner: worker.ownerId, epoch: step.leaseEpoch };
    if (outcome.kind === 'completed' && !outcome.cache && holder && !holder.ended) {
      // The workflow runs here: it gets the result now, and records it with its next journal write.
      const handedOn = step.concurrencyKey != null && attempt.bodyDone;
      if (handedOn) worker.loop.handOn.freed(step);
      // When the run waits on nothing else, its worker slot stays with it for its next call (a body still
      // running keeps it anyway). Not in a fan-out: results that do not end the run's wait make no call.
      if (attempt.bodyDone && holder.waitsOnlyOn(step.position)) this.carried.carry(step.id);
      this.finished(attempt, step.executionId, handedOn);
      holder.completeLocally(step, { fence, result: outcome.result, finishedAt: now });
      this.carried.releaseAfterTurn();
      worker.loop.poke();
      return;
    }
    worker.completions.add({ fence, executionId: step.executionId, outcome, finishedAt: now, wakeExecution: !holder || holder.ended }, { run: holder, attempt });
  }

  /** A step that failed for good goes to the dead-letter list; operators hear of it in the log. */
  private logDeadLetter(step: StepRecord, reason: string, failure: unknown, workflowName: string | undefined): void {
    const { worker } = this;
    const why = failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure);
    const log = (workflow: string) =>
      worker.logger.warn(`Step '${step.name}' (position ${step.position}) of execution ${step.executionId} of workflow ${workflow} dead-lettered after ${step.attempts} attempt(s) (${reason}): ${why}`, {
        executionId: step.executionId,
        stepId: step.id,
        position: step.position,
        activity: step.name,
        attempt: step.attempts,
        workflow,
      });
    if (workflowName !== undefined) return log(workflowName);
    // The execution is not held here (its workflow runs on another worker): one read names it.
    void worker.store.getExecution(step.executionId).then(
      (record) => log(record?.workflowName ?? 'unknown'),
      () => log('unknown'),
    );
  }

  /**
   * An attempt's outcome is known: its slot is free, unless its body ignored the timeout's AbortSignal
   * and still runs (then the slot stays taken until the body returns).
   */
  /** `slotHeld`: a keyed step's slot is not free to claims (held for hand-on, or handed off by its result's write). */
  finished(attempt: RunningAttempt, executionId: string, slotHeld = false): void {
    const { worker } = this;
    const { step } = attempt;
    if (this.attempts.get(step.id) === attempt) {
      this.attempts.delete(step.id);
      worker.changed();
      if (!attempt.bodyDone) this.linger(attempt, executionId);
      else this.startWaiting();
    }
    if (worker.loop.suspectRunning === step.id) worker.loop.suspectRunning = undefined;
    // A capped activity finishing frees a cluster-wide slot another pending step may take. A keyed slot held
    // for hand-on is not: claims count it running until SlotHandOn releases it (and asks for a round then),
    // unless its result's write hands it on or off first; a round now would find nothing more.
    if (step.maxConcurrent !== null) worker.loop.hints.activities = worker.loop.hints.keyed = true;
    else if (step.concurrencyKey != null && !slotHeld) worker.loop.hints.keyed = true;
  }

  /**
   * A body that runs on past its attempt (it timed out and ignored its AbortSignal, or the step was taken
   * again): its slot stays taken until it returns.
   */
  private linger(attempt: RunningAttempt, executionId: string): void {
    const { worker } = this;
    const { step } = attempt;
    this.lingering.add(attempt);
    if (attempt.decided) worker.logger.warn(`Activity ${step.name} (execution ${executionId}) ignored its AbortSignal after its timeout; its slot stays taken until it returns`, {
      executionId,
      stepId: step.id,
      position: step.position,
      activity: step.name,
      attempt: step.attempts,
    });
    void attempt.bodySettled.then(() => {
      this.lingering.delete(attempt);
      this.startWaiting();
      worker.loop.activitiesMayWait();
    });
  }
}

/** The cache table's key column holds 255 characters. */
const CACHE_KEY_LIMIT = 255;

/**
 * A cache key the database can store: as given when it fits its column and has no character PostgreSQL
 * refuses (NUL, a lone surrogate), else its SHA-256 (the key includes the activity name, so hashed keys of
 * different activities do not meet). A custom key may be any length.
 */
function storableCacheKey(key: string): string {
  if (key.length <= CACHE_KEY_LIMIT && !/[\u0000\uD800-\uDFFF]/u.test(key)) return key;
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}
