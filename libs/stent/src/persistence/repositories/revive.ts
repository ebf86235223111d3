import { DeadLetterNotFoundError, ExecutionFinishedError, ExecutionNotFoundError, StentError } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { deadLetterFromRow, num, numOrNull, strOrNull } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { NO_LEASE } from '../sql/statements.js';
import type { StepDiscard } from './step-discard.js';

/**
 * Bringing a failed execution back: retrying the step whose failure ended it (in it, or down the chain of
 * child executions that failed with it), replaying a dead letter, or replaying from the journal. What the
 * failure cancelled is restored; steps recorded after the workflow saw the failure become tentative.
 */
export class ReviveRepository {
  constructor(
    private readonly ctx: SqlContext,
    private readonly discard: StepDiscard,
  ) {}

  /** Revives a failed execution from a dead-lettered task. Throws DeadLetterNotFoundError / ExecutionFinishedError. */
  async replayDeadLetter(deadLetterId: string, now: number): Promise<{ executionId: string }> {
    const { t } = this.ctx;
    const executionId = await this.ctx.client.transaction(async (tx) => {
      const [letter] = await tx.query(`SELECT * FROM ${t.deadLetters} WHERE id = ?`, [deadLetterId]);
      if (!letter) throw new DeadLetterNotFoundError(deadLetterId);
      const record = deadLetterFromRow(letter);
      const [step] = record.stepId ? await tx.query<{ position: unknown }>(`SELECT position FROM ${t.steps} WHERE id = ?`, [record.stepId]) : [];
      const retried = step ? await this.retryFromWithin(tx, record.executionId, { executionId: record.executionId, position: num(step.position) }, now) : false;
      if (!retried) await this.reviveWithin(tx, record.executionId, now);
      await tx.execute(`DELETE FROM ${t.deadLetters} WHERE id = ?`, [deadLetterId]);
      return record.executionId;
    });
    this.ctx.bus.publish({ type: 'work' });
    return { executionId };
  }

  /** Revives `executionId` to retry the failed activity step at `failedAt`; false if there is none below it. */
  async retryFrom(executionId: string, failedAt: { executionId: string; position: number }, now: number): Promise<boolean> {
    const ok = await this.ctx.client.transaction((tx) => this.retryFromWithin(tx, executionId, failedAt, now));
    if (ok) this.ctx.bus.publish({ type: 'work' });
    return ok;
  }

  /** Wakes a failed execution to replay from its journal, restoring what its failure cancelled. */
  async revive(executionId: string, now: number): Promise<void> {
    await this.ctx.client.transaction((tx) => this.reviveWithin(tx, executionId, now));
    this.ctx.bus.publish({ type: 'work' });
  }

  private async retryFromWithin(tx: SqlExecutor, executionId: string, failedAt: { executionId: string; position: number }, now: number): Promise<boolean> {
    const { t, dialect } = this.ctx;
    // The chain of executions from the one whose step failed up to `executionId`.
    const chain: Array<{ id: string; state: string; parentPosition: number | null; result: string | null }> = [];
    for (let id: string | null = failedAt.executionId; id !== null; ) {
      const rows: Array<{ id: string; state: string; parent_id: string | null; parent_position: unknown; result: string | null }> = await tx.query(
        `SELECT id, state, parent_id, parent_position, result FROM ${t.executions} WHERE id = ?${dialect.forUpdate}`,
        [id],
      );
      const row = rows[0];
      if (!row) return false;
      chain.unshift({ id: String(row.id), state: row.state, parentPosition: numOrNull(row.parent_position), result: strOrNull(row.result) });
      if (row.id === executionId) break;
      id = row.parent_id;
    }
    if (chain[0]?.id !== executionId) return false;
    if (chain[0].state !== 'failed') throw new ExecutionFinishedError(executionId, `${chain[0].state}: only failed executions can be revived`);
    for (let i = 0; i < chain.length; i++) {
      const current = chain[i]!;
      const child = chain[i + 1];
      const position = child ? child.parentPosition! : failedAt.position;
      const step = await this.retryStepWithin(tx, current.id, position);
      if (!step) {
        if (i === 0) return false;
        throw new StentError(`Execution ${current.id} has no failed step at position ${position} to retry`);
      }
      if (!child) {
        await tx.execute(
          `UPDATE ${t.steps} SET state = 'pending', attempts = 0, recoveries = 0, result = NULL, error = NULL, available_at = ?,
             ${NO_LEASE}, started_at = NULL, finished_at = NULL WHERE id = ?`,
          [now, step.id],
        );
        await tx.execute(`DELETE FROM ${t.deadLetters} WHERE step_id = ?`, [step.id]);
      } else if (child.state === 'cancelled' || child.state === 'timed_out') {
        throw new ExecutionFinishedError(child.id, `${child.state}: the child execution whose failure ended ${current.id} cannot be revived, so neither can it`);
      } else if (child.state === 'completed') {
        // Fixed and finished on its own meanwhile (say, its dead letter was replayed): hand its result over.
        await tx.execute(`UPDATE ${t.steps} SET state = 'completed', result = ?, error = NULL, finished_at = ? WHERE id = ?`, [child.result, now, step.id]);
      } else {
        await tx.execute(`UPDATE ${t.steps} SET state = 'waiting', error = NULL, finished_at = NULL WHERE id = ?`, [step.id]);
      }
      await this.reviveWithin(tx, current.id, now);
      if (child && child.state !== 'failed') break;
    }
    return true;
  }

  /**
   * Prepares the step at `position` of a failed execution to be retried. If the workflow saw that failure
   * (turn T), the steps it called from turn T on become tentative: finished ones are kept for the replay
   * to reuse if it repeats them, unfinished ones are dropped now. Returns the step, or null if none.
   */
  private async retryStepWithin(tx: SqlExecutor, executionId: string, position: number): Promise<{ id: string; kind: string } | null> {
    const { t } = this.ctx;
    const [step] = await tx.query<{ id: string; kind: string; state: string; delivered_turn: unknown }>(
      `SELECT id, kind, state, delivered_turn FROM ${t.steps} WHERE execution_id = ? AND position = ?`,
      [executionId, position],
    );
    if (!step || step.state !== 'failed') return null;
    const seenAt = numOrNull(step.delivered_turn);
    if (seenAt !== null) {
      await this.discard.where(tx, executionId, `call_turn >= ? AND position <> ? AND state NOT IN ('completed', 'failed')`, [seenAt, position]);
      await tx.execute(`UPDATE ${t.steps} SET delivered_turn = NULL, delivered_seq = NULL WHERE execution_id = ? AND delivered_turn >= ?`, [executionId, seenAt]);
      await tx.execute(`UPDATE ${t.steps} SET tentative = 1 WHERE execution_id = ? AND call_turn >= ? AND position <> ?`, [executionId, seenAt, position]);
    }
    await tx.execute(`UPDATE ${t.executions} SET revive_position = ? WHERE id = ?`, [position, executionId]);
    return { id: String(step.id), kind: step.kind };
  }

  /**
   * Makes an execution active again: a failed one (retry, dead-letter replay) or a child that was
   * cancelled because its parent ended (revived with the parent). What its ending cancelled is restored,
   * and activity steps still marked running (an aborted attempt winding down) wait for a worker again:
   * the late outcome of that attempt no longer holds the lease and is dropped.
   */
  private async reviveWithin(tx: SqlExecutor, executionId: string, now: number, from: 'failed' | 'cancelled' = 'failed'): Promise<boolean> {
    const { t, dialect } = this.ctx;
    const [row] = await tx.query<{ state: string }>(`SELECT state FROM ${t.executions} WHERE id = ?${dialect.forUpdate}`, [executionId]);
    if (!row) throw new ExecutionNotFoundError(executionId);
    if (row.state !== from) {
      if (from === 'cancelled') return false;
      throw new ExecutionFinishedError(executionId, `${row.state}: only failed executions can be revived`);
    }
    await tx.execute(
      `UPDATE ${t.executions} SET state = 'running', result = NULL, error = NULL, finished_at = NULL, wake_at = ?, updated_at = ?,
         ${NO_LEASE}, recoveries = 0 WHERE id = ?`,
      [now, now, executionId],
    );
    await tx.execute(
      `UPDATE ${t.steps} SET state = 'pending', available_at = ?, ${NO_LEASE}
       WHERE execution_id = ? AND state = 'running' AND kind = 'activity'`,
      [now, executionId],
    );
    await this.restoreCancelled(tx, executionId, now);
    return true;
  }

  /**
   * Gives back what the end of an execution cancelled: activity steps wait for a worker again, timers,
   * signal waits and child waits wait again (and the child executions cancelled with them come back).
   */
  private async restoreCancelled(tx: SqlExecutor, executionId: string, now: number): Promise<void> {
    const { t } = this.ctx;
    await tx.execute(
      `UPDATE ${t.steps} SET state = 'pending', available_at = ?, error = NULL, ${NO_LEASE}, finished_at = NULL
       WHERE execution_id = ? AND state = 'cancelled' AND kind = 'activity'`,
      [now, executionId],
    );
    const children = await tx.query<{ child_execution_id: string | null }>(
      `SELECT child_execution_id FROM ${t.steps} WHERE execution_id = ? AND state = 'cancelled' AND kind = 'child'`,
      [executionId],
    );
    await tx.execute(`UPDATE ${t.steps} SET state = 'waiting', finished_at = NULL WHERE execution_id = ? AND state = 'cancelled'`, [executionId]);
    for (const { child_execution_id: childId } of children) if (childId) await this.reviveWithin(tx, childId, now, 'cancelled');
  }
}
