import type { ExecutionRecord, LocalCompletion, NewExecution, NewStep, SlotHandOff, StepRecord } from '../store/index.js';
import { hasFlowLimits } from '../definitions/flow-limits.js';
import { insertedRecord } from '../run/step-record.js';
import type { WorkflowRun } from '../run/workflow-run.js';
import { ExecutionBirth, type DispatchOutcome } from '../run/execution-birth.js';
import type { Worker } from './worker.js';

/**
 * The worker slots one write may give the steps it starts: those carried for the results it records (see
 * CarriedSlots) first, then free ones. One instance serves every write of a worker, one write at a time
 * (a write's reservations are made in one synchronous stretch): none is allocated per step.
 */
class WriteSlots {
  /** Carried slots taken for this write and not spent yet. */
  private carried = 0;

  constructor(private readonly worker: Worker) {}

  /** Takes the slots carried for `completions`, the results this write records. */
  for(completions: readonly LocalCompletion[]): this {
    this.carried = completions.length > 0 ? this.worker.runner.carried.take(completions) : 0;
    return this;
  }

  /** A slot is left. Taken out of CarriedSlots, the carried ones read as free: the rest is what anyone may take. */
  any(): boolean {
    return this.carried > 0 || this.worker.runner.freeSlots() - this.carried > 0;
  }

  /** Reserves one for a step. */
  spend(): void {
    if (this.carried > 0) this.carried--;
    this.worker.local.reserved++;
  }

  /** The write took what it needed: carried slots left unspent are free again. Returns `value`. */
  done<T>(value: T): T {
    if (this.carried > 0) {
      this.carried = 0;
      this.worker.runner.slotsReturned();
    }
    return value;
  }
}

/**
 * Work this worker claims as it is inserted, with no claim query: the activity steps a run it holds
 * records (when a slot is free) and executions dispatched by this process (when it has room and knows of
 * no backlog). Such work is inserted already leased to this worker and started once the insert is known; a dispatched execution's run starts first, and its first write inserts it.
 */
export class LocalDispatch {
  /** Slots promised to steps being inserted right now. */
  reserved = 0;
  /** Runs promised to executions being dispatched by this process right now (or claimed while their journals load). */
  reservedRuns = 0;
  private readonly writeSlots: WriteSlots;

  constructor(private readonly worker: Worker) {
    this.writeSlots = new WriteSlots(worker);
  }

  /**
   * Marks the activity steps of a batch that this worker will run itself, claiming them at insert. A step
   * with per-key concurrency alone is claimed so only by taking over the slot of a step of its activity and
   * key whose body finished here and whose result goes in the same write (`completions`): the write ends
   * one and starts the other, so the key never holds more running steps than before, and the step need not
   * wait for a claim round (the bench's workflows call one tenant's activity three times in a row).
   */
  reserveLocal(batch: NewStep[], completions: readonly LocalCompletion[]): NewStep[] {
    const { worker } = this;
    const slots = this.slotsOf(completions);
    if (worker.state !== 'running' || worker.loop.suspectRunning || worker.loop.suspectsWaiting) return slots.done([]);
    const local: NewStep[] = [];
    const leaseExpiresAt = worker.clock.now() + worker.settings.leaseMs;
    let keyedLeft: NewStep[] | undefined;
    for (const step of batch) {
      if (!this.couldRunHere(step)) {
        if (!this.keyedServedHere(step)) continue;
        // A keyed step starts here only in the slot of a step of its activity and key handed on in this write.
        if (completions.length === 0 || !slots.any() || !worker.loop.handOn.take(step.name, step.concurrencyKey!, completions)) {
          (keyedLeft ??= []).push(step);
          continue;
        }
      }
      if (!slots.any()) break;
      slots.spend();
      step.state = 'running';
      step.claimedBy = { owner: worker.ownerId, leaseExpiresAt };
      local.push(step);
    }
    // Keyed steps left pending while a slot is still free here: this worker's next claim round looks for
    // them (its own announcement asks for one), and takes them if their keys have room. Other workers are
    // not told: under load their keys are nearly always full, and each told worker read the keys for nothing.
    if (keyedLeft && worker.runner.freeSlots() > 0) for (const step of keyedLeft) step.lookedForHere = true;
    return slots.done(local);
  }

  /** Whether `step` is a call of an activity with per-key concurrency alone that this worker serves (registered, its queue not paused, its tags). */
  private keyedServedHere(step: NewStep): boolean {
    const { settings, registry } = this.worker;
    if (step.kind !== 'activity' || step.concurrencyKey == null || step.maxConcurrent !== null || step.rateKey != null) return false;
    const definition = registry.activity(step.name)?.definition;
    if (!definition?.flow.concurrency || definition.flow.rate || definition.maxConcurrent != null) return false;
    if (!settings.queues.includes(step.queue) || this.worker.pausedQueues.has(step.queue)) return false;
    return settings.tags.length === 0 || step.tags.some((tag) => settings.tags.includes(tag));
  }

  /** The slots a write of these results may give its new steps (see WriteSlots). */
  private slotsOf(completions: readonly LocalCompletion[]): WriteSlots {
    return this.writeSlots.for(completions);
  }

  /** Whether this worker could run the activity step itself (registered, its queue (not paused) and tags, no cluster cap). */
  couldRunHere(step: NewStep): boolean {
    const { settings, registry } = this.worker;
    if (step.kind !== 'activity' || step.maxConcurrent !== null || step.concurrencyKey != null || step.rateKey != null) return false;
    if (!registry.activity(step.name) || !settings.queues.includes(step.queue)) return false;
    if (this.worker.pausedQueues.has(step.queue)) return false;
    return settings.tags.length === 0 || step.tags.some((tag) => settings.tags.includes(tag));
  }

  /**
   * Slots of keyed steps among `completions` (results a run writes with no new step of their key to hand
   * them on to) still held for hand-on: their write hands them off instead (see reserveSlots). Undefined: none.
   */
  reserveHandOff(completions: readonly LocalCompletion[]): SlotHandOff | undefined {
    const { handOn } = this.worker.loop;
    const slots = this.slotsOf(completions);
    return slots.done(this.reserveSlots(completions.map((completion) => completion.fence.stepId), (stepId) => handOn.takeSlot(stepId), slots));
  }

  /**
   * The write that ends these steps (their results recorded) starts, for each of their slots, the next due
   * pending step of its activity and key, which this worker then runs (a worker slot is reserved for each):
   * without this such a slot waits for a claim round under the activity's lock. Only activities with per-key
   * concurrency alone (what claimKeyedOnly claims); `take` gives a step's activity and key if its slot is
   * this write's to give.
   */
  private reserveSlots(stepIds: string[], take: (stepId: string) => { name: string; key: string } | undefined, budget: WriteSlots): SlotHandOff | undefined {
    const { worker } = this;
    const { settings, registry } = worker;
    if (worker.state !== 'running' || worker.loop.suspectRunning || worker.loop.suspectsWaiting) return undefined;
    const slots: SlotHandOff['slots'] = [];
    for (const stepId of stepIds) {
      if (!budget.any()) break;
      const slot = take(stepId);
      if (!slot) continue;
      const definition = registry.activity(slot.name)?.definition;
      if (!definition?.flow.concurrency || definition.flow.rate || definition.maxConcurrent != null) continue;
      budget.spend();
      slots.push({ stepId, name: slot.name, key: slot.key });
    }
    if (slots.length === 0) return undefined;
    return {
      filter: { owner: worker.ownerId, queues: settings.queues, tags: settings.tags, now: worker.clock.now(), leaseMs: settings.leaseMs, preferHeld: worker.loop.hasPeers },
      slots,
    };
  }

  /** The write of a hand-off is done (or failed: no steps): the steps it started run here; the other reserved slots are free again. */
  handedOff(handOff: SlotHandOff, started: StepRecord[]): void {
    const { worker } = this;
    this.reserved -= handOff.slots.length;
    for (const step of started) worker.runner.run(step, worker.runs.get(step.executionId));
    worker.runner.startWaiting();
    worker.changed();
    // A slot that found no step to take is free for claims (its step's row is no longer running).
    if (started.length < handOff.slots.length) worker.loop.keyedMayWait();
  }

  cancelReservations(steps: NewStep[]): void {
    this.reserved -= steps.length;
    this.worker.runner.startWaiting();
  }

  /** The reserved steps are inserted: their attempts start. */
  startReserved(run: WorkflowRun, steps: NewStep[]): void {
    const { worker } = this;
    this.reserved -= steps.length;
    const now = worker.clock.now();
    for (const step of steps) {
      // Built like every record (one object shape); the attempt starts now.
      const record = insertedRecord(step);
      record.startedAt = now;
      worker.runner.run(record, run);
    }
  }

  /**
   * Whether this worker takes a new execution as it is inserted: it runs the workflow, serves its queue
   * and tags, has room, knows of no older executions waiting, and the workflow has no flow limits. Marks the execution claimed if so.
   */
  reserveExecution(execution: NewExecution): boolean {
    const { worker } = this;
    const { settings } = worker;
    if (worker.state !== 'running' || worker.loop.hints.workflows || worker.loop.suspectRunning) return false;
    if (worker.runs.size + this.reservedRuns >= settings.maxActiveWorkflows) return false;
    const registered = worker.registry.workflow(execution.workflowName);
    if (!registered || !settings.queues.includes(execution.queue)) return false;
    // Known paused (the insert would find it so too): left to claims without running any of its code here.
    if (worker.pausedQueues.has(execution.queue) || worker.pausedWorkflows.has(execution.workflowName)) return false;
    // A flow-limited workflow starts only through a claim, which counts its keys under the workflow's lock.
    if (hasFlowLimits(registered.definition.flow)) return false;
    if (settings.tags.length > 0 && !execution.tags.some((tag) => settings.tags.includes(tag))) return false;
    execution.claimedBy = { owner: worker.ownerId, leaseExpiresAt: worker.clock.now() + settings.leaseMs };
    execution.workflowVersion = worker.registry.workflow(execution.workflowName)!.definition.version;
    this.reservedRuns++;
    return true;
  }

  /** Starts an execution reserved by reserveExecution once its insert is known (created) or not. */
  startReservedExecution(execution: NewExecution, claimed: boolean): void {
    const { worker } = this;
    this.reservedRuns--;
    worker.changed();
    if (!claimed || !execution.claimedBy) {
      worker.loop.poke();
      return;
    }
    if (worker.state !== 'running') {
      // Drained while the insert was on its way: hand it to whoever claims next instead of holding it.
      void worker.store.releaseExecution({ executionId: execution.id, owner: execution.claimedBy.owner, epoch: 1 }, worker.clock.now()).catch(() => undefined);
      return;
    }
    worker.runs.start(claimedRecord(execution), []);
  }

  /**
   * Runs an execution reserved by reserveExecution before it is inserted: its run's first write inserts it
   * (see ExecutionBirth). Resolves once it is in the database, claimed by the run or left to claims.
   */
  startDispatched(execution: NewExecution): Promise<DispatchOutcome> {
    const { worker } = this;
    this.reservedRuns--;
    worker.changed();
    const birth = new ExecutionBirth(execution);
    worker.runs.start(claimedRecord(execution), [], birth);
    return birth.outcome;
  }
}

/**
 * The record of an execution inserted claimed by this worker (reserveExecution set its claim), as a claim
 * would read it. Written out field by field: built at every local dispatch, and a rest-and-spread copy
 * of the new execution showed in its profile.
 */
function claimedRecord(execution: NewExecution): ExecutionRecord {
  const claim = execution.claimedBy!;
  return {
    id: execution.id,
    workflowName: execution.workflowName,
    state: 'running',
    args: execution.args,
    result: null,
    error: null,
    queue: execution.queue,
    priority: execution.priority,
    tags: execution.tags,
    parentId: execution.parentId,
    parentPosition: execution.parentPosition,
    idempotencyKey: execution.idempotencyKey,
    createdAt: execution.createdAt,
    updatedAt: execution.createdAt,
    startedAt: execution.createdAt,
    finishedAt: null,
    deadlineAt: execution.deadlineAt,
    maxDurationMs: execution.maxDurationMs,
    wakeAt: null,
    leaseOwner: claim.owner,
    leaseEpoch: 1,
    leaseExpiresAt: claim.leaseExpiresAt,
    recoveries: 0,
    progress: null,
    counters: null,
    traceContext: execution.traceContext ?? null,
    customState: null,
    revivePosition: null,
    workflowVersion: execution.workflowVersion ?? null,
    continuedFrom: execution.continuedFrom ?? null,
    continuedAs: null,
    forkedFrom: null,
    forkedAt: null,
  };
}
