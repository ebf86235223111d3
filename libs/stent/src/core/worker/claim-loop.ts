import type { WorkflowRun } from '../run/workflow-run.js';
import { decodeError } from '../serialization.js';
import { keyedOnly, type ClaimFilter, type ExecutionRecord, type PoisonedStep, type StepRecord, type WorkKind } from '../store/index.js';
import { ClaimFilters } from './claim-filters.js';
import { IdlePolls } from './idle-polls.js';
import { RateWindowTimer } from './rate-window-timer.js';
import { SlotHandOn } from './slot-hand-on.js';
import type { Worker } from './worker.js';

type Loaded = { journal: StepRecord[] } | { kept: WorkflowRun; changed: StepRecord[] };

/** Most workflows one claim round takes. */
const MAX_CLAIM = 100;
/** How often a worker re-reads how many other workers share its database (at once when one joins). */
const PEER_CHECK_MS = 1_000;

/**
 * The worker's claim loop: a claim round reaps expired leases, claims due executions and pending activity
 * steps, and refreshes the runs whose steps finished elsewhere. Rounds run when something may be there
 * (a wake event, a result, free room) and otherwise on a poll that backs off while nothing comes.
 */
export class ClaimLoop {
  /**
   * Whether a claim query may find something. Set by wake events, by polls and by claims that came back
   * full; cleared by claims that came back short. Saves a query per round when there is nothing to take.
   * `activities`: steps without flow keys (what any claim of their activity takes). `keyed`: steps with
   * flow keys; for a keyed-only activity, whether it may have a key with pending steps and room, asked of
   * the database (HotPathStore.keyedRoom) before a claim. Set by what may free or fill a key, and by a
   * claim of them that came back full; cleared when that read finds no such key, or when the claim after
   * it came back short (every key it found open then gave all it had).
   */
  readonly hints = { workflows: true, activities: true, keyed: true, woken: true, suspects: true };
  /** Id of the recovered step this worker runs alone, if any. */
  suspectRunning: string | undefined;
  suspectsWaiting = false;
  /** Settles when the round under way (if any) ends. */
  roundDone: Promise<void> = Promise.resolve();
  private suspectsCheckedAt = 0;
  /** What its claims look for. */
  private readonly filters: ClaimFilters;
  /** Slots of keyed steps finished here that their runs' next calls may take over (LocalDispatch.reserveLocal). */
  readonly handOn: SlotHandOn;
  /** Other live workers on the database, re-read when a claim depends on it (see workflowBudget). */
  private peers = 0;
  private peersCheckedAt = -Infinity;
  private ticking = false;
  private tickAgain = false;
  private immediate: NodeJS.Immediate | undefined;
  private readonly polls: IdlePolls;
  private readonly windows: RateWindowTimer;
  private lastReapAt = 0;

  constructor(private readonly worker: Worker) {
    this.filters = new ClaimFilters(worker, () => this.peers);
    const { store } = worker;
    this.polls = new IdlePolls(
      worker.clock,
      worker.settings,
      store.writesElsewhere && (() => store.writesElsewhere!()),
      () => {
        this.lookEverywhere();
        this.roundDone = this.tick();
      },
      // Now, or right after the round under way; the round's end schedules the next poll and probe.
      () => {
        this.lookEverywhere();
        this.poke();
      },
    );
    this.handOn = new SlotHandOn(worker.clock, () => this.keyedMayWait());
    this.windows = new RateWindowTimer(worker.clock, () => {
      // At a window's start look for both kinds: the timer serves both.
      this.hints.workflows = true;
      this.activitiesMayWait();
    });
  }

  /** Polling is the safety net for lost or impossible notifications (and answers unknown writes): look at everything. */
  private lookEverywhere(): void {
    this.hints.workflows = this.hints.activities = this.hints.keyed = this.hints.woken = this.hints.suspects = true;
  }

  /** Ask for a claim round as soon as possible. */
  poke(): void {
    if (this.worker.state !== 'running') return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    if (this.immediate) return;
    // This round sets when the next poll is due (see PollTimer).
    this.polls.unset();
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.roundDone = this.tick();
    });
  }

  /**
   * New work was announced: look for it at once, of the kind announced (without one, both). A round after
   * an announcement of executions alone (a dispatch, a woken run) sends no claim of activity steps: in a
   * busy cluster most announcements are dispatches, and each cost every other worker two reads that found
   * nothing new.
   */
  workAnnounced(of?: WorkKind): void {
    this.polls.reset();
    if (of === undefined || of === 'executions') this.hints.workflows = true;
    if (of === undefined || of === 'steps') this.hints.activities = true;
    if (of !== 'executions') this.hints.keyed = true;
    this.poke();
  }

  /** A step may wait or a slot may be free (a retry came due, a slot was released): look for activities. */
  activitiesMayWait(): void {
    this.hints.activities = this.hints.keyed = true;
    this.poke();
  }

  /** A key's slot may be free (released from hand-on, or a hand-off found no step): look for keyed steps. */
  keyedMayWait(): void {
    this.hints.keyed = true;
    this.poke();
  }

  /** A worker joined the database: count the peers again before the next budget. */
  peerJoined(): void {
    this.peersCheckedAt = -Infinity;
  }

  /** Whether other live workers shared the database when last counted. */
  get hasPeers(): boolean {
    return this.peers > 0;
  }

  /** A claim round is under way or about to start. */
  get busy(): boolean {
    return this.ticking || this.immediate !== undefined;
  }

  /** Forgets what this loop knew of its worker's work (the worker halted; it starts again afresh). */
  forget(): void {
    this.stop();
    this.suspectRunning = undefined;
    this.suspectsWaiting = false;
    this.lookEverywhere();
    this.polls.reset();
    this.lastReapAt = 0;
    this.filters.forget();
    this.handOn.clear();
    this.worker.versions.forget();
  }

  stop(): void {
    this.windows.stop();
    this.handOn.stop();
    if (this.immediate) clearImmediate(this.immediate);
    this.polls.stop();
    this.immediate = undefined;
  }

  private async tick(): Promise<void> {
    const { worker } = this;
    if (worker.state !== 'running' || this.ticking) return;
    this.ticking = true;
    let progressed = false;
    try {
      const ready = this.polls.ready();
      if (ready) await ready;
      const now = worker.clock.now();
      if (now - this.lastReapAt >= Math.min(worker.settings.leaseMs / 2, 5_000)) {
        this.lastReapAt = now;
        const reaped = await worker.store.reapExpiredLeases(now, worker.settings.maxRecoveries);
        if (reaped.steps + reaped.executions > 0) {
          const deadLettered = reaped.poisoned.length;
          worker.logger.warn(`Reclaimed ${reaped.steps} step(s) and ${reaped.executions} execution(s) whose worker stopped renewing its lease${deadLettered ? `; ${deadLettered} dead-lettered after too many recoveries` : ''}`, {
            workerId: worker.ownerId,
            steps: reaped.steps,
            executions: reaped.executions,
            deadLettered,
          });
          for (const step of reaped.poisoned) {
            const error = decodeError(step.error)!;
            worker.events.emit('step.failed', { ...stepOf(step), error, willRetry: false });
            worker.events.emit('step.dead_lettered', { ...stepOf(step), error, reason: step.reason });
          }
          progressed = true;
        }
      }
      progressed = (await this.claimWorkflows()) || progressed;
      progressed = (await this.claimActivities()) || progressed;
      if (worker.versions.due(worker.clock.now())) await worker.versions.check(this.filters.workflows(0));
      if (worker.runs.size > 0 && this.hints.woken) await this.refreshWoken();
      worker.claimHealth.succeeded();
    } catch (error) {
      worker.claimHealth.failed(error, worker.clock.now());
      worker.logger.error(`Worker ${worker.ownerId}: claim round failed (will retry)`, error, { workerId: worker.ownerId });
    } finally {
      this.ticking = false;
    }
    if (progressed || this.tickAgain) {
      this.tickAgain = false;
      this.polls.reset();
      this.poke();
    } else if (worker.state === 'running' && !this.immediate) {
      this.polls.scheduleNext();
    }
  }

  /**
   * How many workflows to claim now, when other workers share the database: room for their first
   * activities in free slots, and no more. A workflow claimed beyond them would queue its first step here
   * pending, where the other workers take it (its result then a cross-process hand-off: a write there, a
   * notification and a read here) while they could have run that workflow themselves. Alone, a worker
   * takes what it can hold: its queue orders the backlog by priority. Steps that another worker or a
   * cluster cap must serve do not count against the free slots.
   *
   * A workflow claimed but not at its first call yet counts as queued while the slot its first step will
   * take still reads free, so the slots it will take are not counted twice (a round in that window claimed
   * past them).
   */
  private async workflowBudget(): Promise<number> {
    const { worker } = this;
    const budget = Math.max(0, worker.runner.freeSlots() - worker.runs.queuedHere());
    if (budget >= MAX_CLAIM) return budget;
    const now = worker.clock.now();
    if (now - this.peersCheckedAt >= PEER_CHECK_MS) {
      this.peersCheckedAt = now;
      this.peers = await worker.store.countPeers(worker.ownerId, now - worker.settings.leaseMs);
    }
    return this.peers > 0 ? budget : MAX_CLAIM;
  }

  /**
   * Steps that were running when their worker died run alone: an idle worker takes one and nothing
   * else until it ends, so a task that crashes its worker is the only one blamed for the crash.
   */
  private async claimActivities(): Promise<boolean> {
    const { worker } = this;
    const { runner, store, clock } = worker;
    const names = worker.registry.activityNames();
    if (names.length === 0 || this.suspectRunning) return false;
    const idle = runner.idle;
    if (idle && (this.hints.suspects || this.suspectsWaiting)) {
      this.hints.suspects = false;
      const [suspect] = await store.claimSteps({ ...this.filters.activities(1), suspect: true });
      if (worker.state !== 'running') return false;
      if (suspect) {
        this.suspectRunning = suspect.id;
        this.hints.suspects = true;
        runner.run(suspect, worker.runs.get(suspect.executionId));
        return true;
      }
      this.suspectsWaiting = false;
    } else if (!idle && clock.now() - this.suspectsCheckedAt >= 250) {
      this.suspectsCheckedAt = clock.now();
      this.suspectsWaiting = await store.hasSuspects(this.filters.activities(1));
    }
    // While a suspect waits, let running attempts finish so this worker becomes idle to take it.
    if (this.suspectsWaiting) return false;
    const free = runner.freeSlots();
    const plain = this.hints.activities;
    if (free <= 0 || (!plain && !this.hints.keyed)) return false;
    // Slots not handed on by now may be counted free by this claim, and are then no longer handed on.
    this.handOn.release(this.filters.finishedKeyed);
    const filter = this.filters.activities(free);
    // Cleared before the query, not after: work announced while it runs (its rows committed after the
    // query read the table) sets the hint again, and the next round looks. Cleared afterwards, that
    // announcement was lost, and the work waited for a poll.
    this.hints.activities = false;
    filter.keyedOpen = await this.keyedOpen(filter);
    if (worker.state !== 'running') return false;
    // Told only of steps with flow keys (keyed steps announced, keyed slots freed): no claim of plain steps,
    // which under per-key limits was most of what a busy worker's rounds sent, and found nothing.
    if (!plain) filter.names = filter.names.filter((name) => this.flowClaimed(filter, name));
    if (filter.names.length === 0) return false;
    if (plain && this.filters.straysDue()) filter.strays = true;
    const steps = await store.claimSteps(filter);
    if (worker.state !== 'running') return false;
    if (steps.length >= free) {
      // Full: more may wait of what it looked for.
      if (plain) this.hints.activities = true;
      if (filter.names.some((name) => this.flowClaimed(filter, name))) this.hints.keyed = true;
    }
    if (steps.length < free) this.windows.lookAgainAfter(filter);
    for (const step of steps) this.filters.finishedKeyed.delete(step.id);
    runner.runClaimed(steps);
    return steps.length > 0;
  }

  /**
   * The keyed-only activities with a key that has room, asked only while the keyed hint is set: most claim
   * rounds of a busy worker follow a claim that came back full, which says nothing new about keys. The
   * hint stays cleared unless the claim after the read comes back full (see claimActivities): a claim
   * short of its room took every pending step the open keys had room for.
   */
  private async keyedOpen(filter: ClaimFilter): Promise<string[]> {
    if (!this.hints.keyed) return [];
    // Cleared before the read, as the activities hint before the claim.
    this.hints.keyed = false;
    return this.worker.store.keyedRoom(filter);
  }

  /** Whether this claim takes steps of activity `name` by activity and key: flow-limited, and for a keyed-only one, a key found open. */
  private flowClaimed(filter: ClaimFilter, name: string): boolean {
    const limits = filter.flow?.get(name);
    return limits !== undefined && (!keyedOnly(limits) || (filter.keyedOpen ?? []).includes(name));
  }

  private async claimWorkflows(): Promise<boolean> {
    const { worker } = this;
    const { local, store } = worker;
    const names = worker.registry.workflowNames();
    if (names.length === 0 || !this.hints.workflows) return false;
    const limit = Math.min(worker.settings.maxActiveWorkflows - worker.runs.size - local.reservedRuns, await this.workflowBudget());
    if (limit <= 0) return false;
    const filter = this.filters.workflows(limit);
    const now = filter.now;
    // Cleared before the query for the reason given in claimActivities.
    this.hints.workflows = false;
    const executions = await store.claimExecutions(filter);
    if (worker.state !== 'running') return false;
    if (executions.length >= limit) this.hints.workflows = true;
    if (executions.length < limit) this.windows.lookAgainAfter(filter);
    // Claimed but not started while their journals load: they count against maxActiveWorkflows.
    local.reservedRuns += executions.length;
    let loads: Loaded[];
    try {
      loads = await Promise.all(executions.map((execution) => this.load(execution, now)));
    } finally {
      local.reservedRuns -= executions.length;
      worker.changed();
    }
    executions.forEach((execution, i) => {
      const loaded = loads[i]!;
      if ('kept' in loaded) worker.runs.resume(loaded.kept, execution, loaded.changed);
      else worker.runs.start(execution, loaded.journal);
    });
    return executions.length > 0;
  }

  /**
   * What a claimed execution needs to run: nothing for a first start (started_at was set by this very
   * claim); for a run this worker suspended and kept, the rows of what it waits on, provided no step was
   * recorded past its last position (else nobody can vouch for its memory); otherwise the whole journal.
   */
  private async load(execution: ExecutionRecord, now: number): Promise<Loaded> {
    const { store, suspended } = this.worker;
    // A first start has no journal to load: its first claim is the only one that finds the epoch at 1
    // (started_at set by this very claim is no proof: on a clock that stands still, a re-claim sets it to now too).
    void now;
    if (execution.leaseEpoch === 1 && execution.recoveries === 0) return { journal: [] };
    const kept = suspended.take(execution);
    if (kept) {
      const changed = await store.loadSteps(execution.id, kept.positionsToCheck());
      if (changed.every((step) => step.position < kept.journal.taken)) return { kept, changed };
      kept.forget();
    }
    return { journal: await store.loadJournal(execution.id) };
  }

  /** Runs held here whose wake time came (a step they wait on finished elsewhere) re-read those steps. */
  private async refreshWoken(): Promise<void> {
    const { worker } = this;
    this.hints.woken = false;
    const woken = await worker.store.takeWokenExecutions(worker.ownerId, worker.clock.now());
    const runs = woken.map(({ id, epoch }) => worker.runs.get(id)).filter((run, i): run is WorkflowRun => run !== undefined && run.fence.epoch === woken[i]!.epoch);
    if (runs.length === 1) return runs[0]!.refresh();
    // Many runs woken at once (their steps finished in other processes): one read for all their waits.
    const positions = await Promise.all(runs.map((run) => run.refreshPositions()));
    const requests = runs.flatMap((run, i) => (positions[i] ? [{ executionId: run.executionId, positions: positions[i]! }] : []));
    const steps = requests.length > 0 ? await worker.store.loadStepsOf(requests) : [];
    const byExecution = new Map<string, StepRecord[]>();
    for (const step of steps) {
      const list = byExecution.get(step.executionId);
      if (list) list.push(step);
      else byExecution.set(step.executionId, [step]);
    }
    await Promise.all(runs.map((run, i) => (positions[i] ? run.refreshed(byExecution.get(run.executionId) ?? []) : undefined)));
  }
}

/** The fields of a step event, for a poison task the reaper failed. */
function stepOf({ executionId, stepId, position, name, attempt }: PoisonedStep): { executionId: string; stepId: string; position: number; name: string; attempt: number } {
  return { executionId, stepId, position, name, attempt };
}
