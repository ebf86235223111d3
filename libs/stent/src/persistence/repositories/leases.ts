import { encodeError, WorkerLostError, type ExecutionFence, type PoisonedStep, type ReapResult, type RenewResult } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE, EXECUTION_FENCE, fenceParams, NO_LEASE, wake } from '../sql/statements.js';
import type { DeadLettersRepository } from './dead-letters.js';

/** The dead-letter reason of a poison task. */
const POISON_REASON = 'poison: workers lost while running it';

/**
 * Leases: renewed by the heartbeat for what a worker still holds, given back when it stops or drops a
 * run, and reaped from workers that stopped renewing them (a step reaped too often is a poison task).
 */
export class LeasesRepository {
  constructor(
    private readonly ctx: SqlContext,
    private readonly deadLetters: DeadLettersRepository,
  ) {}

  /**
   * Renews the leases this owner still holds (`held`: executions in memory, steps running); leases on
   * anything else it owns lapse. Reports what was renewed, held rows another owner has now (or nobody:
   * reclaimed), and running steps whose execution has ended meanwhile (to abort).
   */
  async renew(owner: string, now: number, leaseMs: number, held: { executions: string[]; steps: string[] }): Promise<RenewResult> {
    const { t, dialect, client } = this.ctx;
    // Separate autocommit statements: a renewal never holds locks while it waits for another row, so it
    // cannot deadlock with completions; rows being written right now are skipped (renewed next time, or
    // no longer needing a lease). Only what the worker still holds is renewed: a lease on anything it
    // dropped runs out on its own.
    const renewed = { executions: [] as string[], steps: [] as string[] };
    const lost = { executions: [] as string[], steps: [] as string[] };
    for (let start = 0; start < held.steps.length; start += 1000) {
      const chunk = held.steps.slice(start, start + 1000);
      const params: unknown[] = [];
      const until = `${dialect.leaseNow(now, params)} + CAST(? AS BIGINT)`;
      params.push(leaseMs, owner);
      const ids = dialect.inList('id', chunk, params);
      const rows = await client.query<{ id: string }>(
        `UPDATE ${t.steps} SET lease_expires_at = ${until} WHERE id IN (SELECT id FROM ${t.steps} WHERE lease_owner = ? AND state = 'running' AND ${ids}${dialect.skipLocked}) RETURNING id`,
        params,
      );
      renewed.steps.push(...rows.map((row) => String(row.id)));
      if (rows.length < chunk.length) lost.steps.push(...(await this.notOwned(t.steps, owner, chunk)));
    }
    for (let start = 0; start < held.executions.length; start += 1000) {
      const chunk = held.executions.slice(start, start + 1000);
      const params: unknown[] = [];
      const until = `${dialect.leaseNow(now, params)} + CAST(? AS BIGINT)`;
      params.push(leaseMs, owner);
      const ids = dialect.inList('id', chunk, params);
      const rows = await client.query<{ id: string }>(
        `UPDATE ${t.executions} SET lease_expires_at = ${until} WHERE id IN (SELECT id FROM ${t.executions} WHERE lease_owner = ? AND ${ids}${dialect.skipLocked}) RETURNING id`,
        params,
      );
      renewed.executions.push(...rows.map((row) => String(row.id)));
      if (rows.length < chunk.length) lost.executions.push(...(await this.notOwned(t.executions, owner, chunk)));
    }
    const ended = await client.query<{ id: string }>(
      `SELECT s.id FROM ${t.steps} s JOIN ${t.executions} e ON e.id = s.execution_id
       WHERE s.lease_owner = ? AND s.state = 'running' AND e.state NOT IN ${ACTIVE}`,
      [owner],
    );
    return { renewed, lost, ended: ended.map((row) => String(row.id)) };
  }

  /**
   * Rows of `ids` this owner does not hold (a plain read: it never waits for a row being written). A row
   * this worker has just finished with reads as not held too; the caller knows which of its own it let go.
   */
  private async notOwned(table: string, owner: string, ids: string[]): Promise<string[]> {
    const params: unknown[] = [owner];
    const list = this.ctx.dialect.inList('id', ids, params);
    const rows = await this.ctx.client.query<{ id: string }>(`SELECT id FROM ${table} WHERE (lease_owner IS NULL OR lease_owner <> ?) AND ${list}`, params);
    return rows.map((row) => String(row.id));
  }

  /** Gives up an owned execution (its run was dropped here): another worker may claim it at once. */
  async releaseExecution(fence: ExecutionFence, now: number): Promise<void> {
    const released = await this.ctx.client.execute(`UPDATE ${this.ctx.t.executions} SET ${NO_LEASE}, wake_at = ?, updated_at = ? WHERE ${EXECUTION_FENCE}`, [
      now,
      now,
      ...fenceParams(fence),
    ]);
    if (released > 0) this.ctx.bus.publish({ type: 'work' });
  }

  /** Everything an owner holds goes back: running steps wait for a worker again, executions are woken. */
  async releaseAll(owner: string, now: number): Promise<void> {
    const { t } = this.ctx;
    await this.ctx.client.transaction(async (tx) => {
      await this.cancelOrphanedSteps(tx, 'lease_owner = ?', [owner], now);
      await tx.execute(
        `UPDATE ${t.steps} SET state = 'pending', ${NO_LEASE}, available_at = ?, attempts = attempts - 1
         WHERE lease_owner = ? AND state = 'running'`,
        [now, owner],
      );
      await tx.execute(`UPDATE ${t.executions} SET ${NO_LEASE}, wake_at = ? WHERE lease_owner = ? AND state IN ${ACTIVE}`, [now, owner]);
    });
    this.ctx.bus.publish({ type: 'work' });
  }

  /** Every lease `owner` holds runs out now, as if its process had died a lease ago (the reaper then takes them back). */
  async forfeit(owner: string): Promise<void> {
    const { t, client } = this.ctx;
    await client.execute(`UPDATE ${t.steps} SET lease_expires_at = 0 WHERE lease_owner = ? AND state = 'running'`, [owner]);
    await client.execute(`UPDATE ${t.executions} SET lease_expires_at = 0 WHERE lease_owner = ? AND state IN ${ACTIVE}`, [owner]);
  }

  async reapExpired(now: number, maxRecoveries: number): Promise<ReapResult> {
    const { t, dialect } = this.ctx;
    // Each statement judges expiry by the lease clock (see Dialect.leaseNow); due times use `now`.
    const expired = (params: unknown[], column = 'lease_expires_at'): string => `${column} < ${dialect.leaseNow(now, params)}`;
    const result = await this.ctx.client.transaction(async (tx) => {
      const orphanParams: unknown[] = [];
      await this.cancelOrphanedSteps(tx, expired(orphanParams), orphanParams, now);
      const poisonParams: unknown[] = [];
      const poisonExpired = expired(poisonParams);
      poisonParams.push(maxRecoveries);
      const rows = await tx.query<{ id: string; execution_id: string; position: unknown; name: string; attempts: unknown }>(
        `SELECT id, execution_id, position, name, attempts FROM ${t.steps} WHERE state = 'running' AND ${poisonExpired} AND recoveries + 1 >= ?${dialect.skipLocked}`,
        poisonParams,
      );
      const error = encodeError(new WorkerLostError(maxRecoveries));
      const poisoned: PoisonedStep[] = [];
      for (const step of rows) {
        await tx.execute(
          `UPDATE ${t.steps} SET state = 'failed', recoveries = recoveries + 1, ${NO_LEASE}, finished_at = ?,
             error = COALESCE(error, ?) WHERE id = ?`,
          [now, error, step.id],
        );
        await this.deadLetters.addStep(tx, step.id, POISON_REASON, now);
        await wake(this.ctx, tx, step.execution_id, now);
        poisoned.push({ executionId: step.execution_id, stepId: step.id, position: Number(step.position), name: step.name, attempt: Number(step.attempts), error, reason: POISON_REASON });
      }
      const stepParams: unknown[] = [now];
      const stepsExpired = expired(stepParams, 's.lease_expires_at');
      // Only steps of executions still active go back to pending, each with its execution locked: an execution
      // being cancelled meanwhile (after the orphans above were read) is skipped, or read as cancelled once it
      // committed, so its step stays running until the next reap cancels it. Unlocked, the step went back to
      // pending for good: the cancel, which had read it running, left it to the reaper.
      const steps = await tx.execute(
        `UPDATE ${t.steps} SET state = 'pending', ${NO_LEASE}, recoveries = recoveries + 1, available_at = ?
         WHERE state = 'running' AND id IN (
           SELECT s.id FROM ${t.steps} s JOIN ${t.executions} e ON e.id = s.execution_id
           WHERE s.state = 'running' AND ${stepsExpired} AND e.state IN ${ACTIVE}${dialect.lockSkipping('s', 'e')}
         )`,
        stepParams,
      );
      const executionParams: unknown[] = [now];
      const executionsExpired = expired(executionParams);
      const executions = await tx.execute(
        `UPDATE ${t.executions} SET ${NO_LEASE}, wake_at = ?, recoveries = recoveries + 1
         WHERE lease_owner IS NOT NULL AND ${executionsExpired} AND state IN ${ACTIVE}`,
        executionParams,
      );
      return { steps: steps + poisoned.length, executions, poisoned };
    });
    if (result.steps + result.executions > 0) this.ctx.bus.publish({ type: 'work' });
    return result;
  }

  /** Running steps of executions that have ended meanwhile are cancelled, not handed to another worker. */
  private async cancelOrphanedSteps(tx: SqlExecutor, condition: string, params: unknown[], now: number): Promise<void> {
    const { t } = this.ctx;
    await tx.execute(
      `UPDATE ${t.steps} SET state = 'cancelled', ${NO_LEASE}, finished_at = ?
       WHERE state = 'running' AND ${condition}
         AND EXISTS (SELECT 1 FROM ${t.executions} e WHERE e.id = ${t.steps}.execution_id AND e.state NOT IN ${ACTIVE})`,
      [now, ...params],
    );
  }
}
