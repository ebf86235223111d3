import { encodeError, ExecutionNotFoundError, WorkflowCancelledError, type DeliveryRecord, type ExecutionFence, type FinishOptions, type LocalCompletion, type NewExecution, type SlotHandOff, type StepRecord } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { num } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE, EXECUTION_FENCE, fenceParams, NO_LEASE, wake } from '../sql/statements.js';
import type { DeadLettersRepository } from './dead-letters.js';
import type { ExecutionsRepository } from './executions.js';
import type { JournalRepository } from './journal.js';
import { handOffSlots } from './slot-hand-off.js';
import type { StepCompletions } from './step-completions.js';
import type { StepDiscard } from './step-discard.js';

/**
 * How an execution stops running: suspended (released until what it waits for happens), finished
 * (completed, failed, timed out: what it left unfinished is cancelled and its parent is told), or
 * cancelled from outside with its descendants.
 */
export class EndingsRepository {
  /** Parents woken inside the transaction being committed; announced once it commits. */
  private pendingWakes: string[] = [];

  constructor(
    private readonly ctx: SqlContext,
    private readonly journal: JournalRepository,
    private readonly completions: StepCompletions,
    private readonly discard: StepDiscard,
    private readonly deadLetters: DeadLettersRepository,
    private readonly executions: ExecutionsRepository,
  ) {}

  /** Releases an owned execution that is waiting; wakes it at `wakeAt` or at once if an awaited step already finished. */
  async suspend(
    fence: ExecutionFence,
    wakeAt: number | null,
    awaitedPositions: number[],
    awaitedSignals: string[],
    now: number,
    deliveries: DeliveryRecord[] = [],
  ): Promise<boolean> {
    const { t, dialect, client } = this.ctx;
    let wokeNow = false;
    const ok = await client.transaction(async (tx) => {
      const released = await tx.execute(`UPDATE ${t.executions} SET ${NO_LEASE}, wake_at = ?, updated_at = ? WHERE ${EXECUTION_FENCE}`, [
        wakeAt,
        now,
        ...fenceParams(fence),
      ]);
      if (released !== 1) return false;
      await this.journal.recordDeliveries(tx, fence.executionId, deliveries);
      if (awaitedPositions.length > 0) {
        const params: unknown[] = [fence.executionId];
        const positions = dialect.inList('position', awaitedPositions, params);
        const [done] = await tx.query<{ n: unknown; total: unknown }>(
          `SELECT SUM(CASE WHEN state IN ('completed', 'failed') THEN 1 ELSE 0 END) AS n, COUNT(*) AS total
           FROM ${t.steps} WHERE execution_id = ? AND ${positions}`,
          params,
        );
        // A finished awaited step, or one that was never recorded (nothing would ever wake it): replay now.
        let ready = num(done?.n ?? 0) > 0 || num(done?.total ?? 0) < awaitedPositions.length;
        if (!ready && awaitedSignals.length > 0) {
          const signalParams: unknown[] = [fence.executionId];
          const names = dialect.inList('name', awaitedSignals, signalParams);
          const [arrived] = await tx.query<{ n: unknown }>(
            `SELECT COUNT(*) AS n FROM ${t.signals} WHERE execution_id = ? AND ${names} AND consumed_at IS NULL`,
            signalParams,
          );
          ready = num(arrived?.n ?? 0) > 0;
        }
        if (ready) {
          await tx.execute(`UPDATE ${t.executions} SET wake_at = ? WHERE id = ?`, [now, fence.executionId]);
          wokeNow = true;
        }
      }
      return true;
    });
    if (wokeNow) this.ctx.bus.publish({ type: 'work', of: 'executions' });
    return ok;
  }

  /**
   * Ends an owned execution. Whatever it started and left unfinished (pending or waiting steps, child
   * executions still running) is cancelled; the parent, if any, is handed the outcome.
   */
  async finish(
    fence: ExecutionFence,
    state: 'completed' | 'failed' | 'timed_out',
    result: string | null,
    error: string | null,
    now: number,
    options: FinishOptions = {},
  ): Promise<boolean> {
    return (await this.finishHandingOff(fence, state, result, error, now, options)).ok;
  }

  /**
   * finish(), and in the same write the slots `handOff` names of keyed steps whose results it records go to
   * the next pending steps of their keys (see SlotHandOff): returns those started for the hand-off's owner.
   */
  async finishHandingOff(
    fence: ExecutionFence,
    state: 'completed' | 'failed' | 'timed_out',
    result: string | null,
    error: string | null,
    now: number,
    options: FinishOptions = {},
    handOff?: SlotHandOff,
  ): Promise<{ ok: boolean; started: StepRecord[] }> {
    const started: StepRecord[] = [];
    const handing = handOff && handOff.slots.length > 0 ? { handOff, started } : undefined;
    const { hasParent = true, leftovers = true, deliveries = [], discard = [], completions = [], continueAs } = options;
    let ended: string[] = [];
    const simple = state === 'completed' && !hasParent && !leftovers && deliveries.length === 0 && discard.length === 0 && !continueAs;
    const finished = { type: 'finished', executionId: fence.executionId } as const;
    // Where writes combine, simple endings of many runs share a statement, which carries their NOTIFY and
    // starts the steps their hand-offs (see SlotHandOff) give slots to.
    let carried = false;
    let ok: boolean;
    if (simple && this.ctx.dialect.combinesWrites) {
      const shared = await this.journal.shared.finish(fence, result, now, completions, handing?.handOff);
      ok = shared.ok;
      carried = shared.announced;
      started.push(...shared.started);
    } else if (simple) {
      ok = await this.finishSimply(fence, result, now, completions, handing);
    } else {
      ok = await this.ctx.client.transaction(async (tx) => {
        if (!(await this.completions.completeLocal(tx, completions))) return false;
        if (handing) started.push(...(await handOffSlots(this.ctx, tx, handing.handOff, new Set(completions.map((c) => c.fence.stepId)))));
        const outcome = await this.finishWithin(tx, fence, state, result, error, now, deliveries, discard, continueAs);
        ended = outcome ?? [];
        return outcome !== null;
      });
    }
    if (ok) this.ctx.bus.publish(finished, carried);
    if (ok) for (const id of ended) this.ctx.bus.publish({ type: 'finished', executionId: id });
    if (ok && (continueAs || options.freesFlowSlot)) this.ctx.bus.publish({ type: 'work', of: 'executions' });
    this.announceWakes();
    return { ok, started };
  }

  /** Fails an execution for good and records it in the dead-letter list (non-determinism, poison). */
  async failDeadLettered(fence: ExecutionFence, error: string, reason: string, now: number, deliveries: DeliveryRecord[] = []): Promise<boolean> {
    let ended: string[] = [];
    const ok = await this.ctx.client.transaction(async (tx) => {
      const outcome = await this.finishWithin(tx, fence, 'failed', null, error, now, deliveries);
      if (outcome === null) return false;
      ended = outcome;
      await this.deadLetters.addExecution(tx, fence.executionId, error, reason, now);
      return true;
    });
    if (ok) for (const id of [fence.executionId, ...ended]) this.ctx.bus.publish({ type: 'finished', executionId: id });
    this.announceWakes();
    return ok;
  }

  /** Cancels an execution and its descendants; no-op (changed=false) if it is already final. */
  async cancel(executionId: string, error: string, now: number): Promise<{ changed: boolean; state: string; cancelled: string[] }> {
    const { t, dialect } = this.ctx;
    const outcome = await this.ctx.client.transaction(async (tx) => {
      const [root] = await tx.query<{ state: string }>(`SELECT state FROM ${t.executions} WHERE id = ?${dialect.forUpdate}`, [executionId]);
      if (!root) throw new ExecutionNotFoundError(executionId);
      if (root.state !== 'pending' && root.state !== 'running') return { changed: false, state: root.state, cancelled: [] as string[] };
      const descendants = await this.activeDescendants(tx, executionId);
      await this.cancelAll(tx, [executionId], now, error);
      await this.cancelAll(tx, descendants, now);
      await this.reportToParent(tx, executionId, 'failed', null, error, now);
      return { changed: true, state: 'cancelled', cancelled: [executionId, ...descendants] };
    });
    for (const id of outcome.cancelled) this.ctx.bus.publish({ type: 'finished', executionId: id });
    this.announceWakes();
    return outcome;
  }

  /**
   * A completed top-level execution that left nothing behind (nothing to cancel, no parent to tell), where
   * writes do not combine (SQLite): with the results of its last steps and their hand-off in one transaction.
   */
  private async finishSimply(
    fence: ExecutionFence,
    result: string | null,
    now: number,
    completions: LocalCompletion[],
    handing?: { handOff: SlotHandOff; started: StepRecord[] },
  ): Promise<boolean> {
    const { t, client } = this.ctx;
    const finish = `UPDATE ${t.executions}
       SET state = 'completed', result = ?, error = NULL, finished_at = ?, updated_at = ?, ${NO_LEASE}, wake_at = NULL
       WHERE ${EXECUTION_FENCE} AND parent_id IS NULL`;
    const finishParams = [result, now, now, ...fenceParams(fence)];
    if (completions.length === 0) return (await client.execute(finish, finishParams)) === 1;
    return client.transaction(async (tx) => {
      if (!(await this.completions.completeLocal(tx, completions))) return false;
      if (handing) handing.started.push(...(await handOffSlots(this.ctx, tx, handing.handOff, new Set(completions.map((c) => c.fence.stepId)))));
      return (await tx.execute(finish, finishParams)) === 1;
    });
  }

  /**
   * Ends an owned execution inside `tx`: what it left unfinished is cancelled (its pending and waiting
   * steps, its child executions still running, and theirs). Returns the descendants it cancelled, or
   * null when the fence no longer holds.
   */
  private async finishWithin(
    tx: SqlExecutor,
    fence: ExecutionFence,
    state: string,
    result: string | null,
    error: string | null,
    now: number,
    deliveries: DeliveryRecord[] = [],
    discard: number[] = [],
    continueAs?: NewExecution,
  ): Promise<string[] | null> {
    const changed = await tx.execute(
      `UPDATE ${this.ctx.t.executions}
       SET state = ?, result = ?, error = ?, finished_at = ?, updated_at = ?, ${NO_LEASE}, wake_at = NULL, continued_as = ?
       WHERE ${EXECUTION_FENCE}`,
      [state, result, error, now, now, continueAs?.id ?? null, ...fenceParams(fence)],
    );
    if (changed !== 1) return null;
    if (continueAs) await this.executions.insertExecution(tx, continueAs);
    await this.journal.recordDeliveries(tx, fence.executionId, deliveries);
    if (discard.length > 0) await this.discard.atPositions(tx, fence.executionId, discard);
    await this.cancelOpenSteps(tx, fence.executionId, now);
    const descendants = await this.activeDescendants(tx, fence.executionId);
    await this.cancelAll(tx, descendants, now);
    // The execution it continued as takes its place under the parent, and reports when it ends.
    if (!continueAs) await this.reportToParent(tx, fence.executionId, state === 'completed' ? 'completed' : 'failed', result, error, now);
    return descendants;
  }

  /** Pending and waiting steps of an execution that ended are cancelled (running ones wind down on their own). */
  private async cancelOpenSteps(tx: SqlExecutor, executionId: string, now: number): Promise<void> {
    await tx.execute(`UPDATE ${this.ctx.t.steps} SET state = 'cancelled', finished_at = ? WHERE execution_id = ? AND state IN ('pending', 'waiting')`, [now, executionId]);
  }

  /**
   * Ids of the executions below `rootId` (children, their children, ...) that are still active. The walk
   * goes from each found execution to its children through the parent index (CROSS JOIN keeps SQLite from
   * turning the join around), and the state is read on the way: joining the tree back to the table let
   * SQLite start from every active execution instead, a scan of the whole backlog at each finish.
   */
  private async activeDescendants(tx: SqlExecutor, rootId: string): Promise<string[]> {
    const { t } = this.ctx;
    const rows = await tx.query<{ id: string }>(
      `WITH RECURSIVE tree(id, state) AS (
         SELECT id, state FROM ${t.executions} WHERE parent_id = ?
         UNION ALL
         SELECT e.id, e.state FROM tree CROSS JOIN ${t.executions} e WHERE e.parent_id = tree.id
       )
       SELECT id FROM tree WHERE state IN ${ACTIVE}`,
      [rootId],
    );
    return rows.map((row) => String(row.id));
  }

  /** Moves active executions to cancelled (each with its own WorkflowCancelledError) with their pending and waiting steps. */
  private async cancelAll(tx: SqlExecutor, ids: string[], now: number, error?: string): Promise<void> {
    for (const id of ids) {
      await tx.execute(
        `UPDATE ${this.ctx.t.executions} SET state = 'cancelled', error = ?, finished_at = ?, updated_at = ?, ${NO_LEASE}, wake_at = NULL
         WHERE id = ? AND state IN ${ACTIVE}`,
        [error ?? encodeError(new WorkflowCancelledError(id)), now, now, id],
      );
      await this.cancelOpenSteps(tx, id, now);
    }
  }

  /** A child execution ended: complete the parent's waiting step with its outcome and wake the parent. */
  private async reportToParent(tx: SqlExecutor, childId: string, state: 'completed' | 'failed', result: string | null, error: string | null, now: number): Promise<void> {
    const { t } = this.ctx;
    const [child] = await tx.query<{ parent_id: string | null; parent_position: unknown }>(`SELECT parent_id, parent_position FROM ${t.executions} WHERE id = ?`, [childId]);
    if (!child?.parent_id) return;
    const changed = await tx.execute(
      `UPDATE ${t.steps} SET state = ?, result = ?, error = ?, finished_at = ? WHERE execution_id = ? AND position = ? AND state IN ('pending', 'waiting')`,
      [state, result, error, now, child.parent_id, num(child.parent_position)],
    );
    if (changed === 1) {
      await wake(this.ctx, tx, child.parent_id, now);
      this.pendingWakes.push(child.parent_id);
    }
  }

  private announceWakes(): void {
    const woken = this.pendingWakes;
    this.pendingWakes = [];
    for (const executionId of woken) this.ctx.bus.publish({ type: 'woken', executionId });
    if (woken.length > 0) this.ctx.bus.publish({ type: 'work', of: 'executions' });
  }
}
