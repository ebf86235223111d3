import { randomUUID } from 'node:crypto';
import { DeadLetterNotFoundError } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import type { SqlContext } from '../sql/sql-context.js';

/** The dead-letter list: tasks that failed for good, with what they were called with. */
export class DeadLettersRepository {
  constructor(private readonly ctx: SqlContext) {}

  /** Lists a step that failed for good (attempts exhausted, poison). */
  async addStep(tx: SqlExecutor, stepId: string, reason: string, now: number): Promise<void> {
    const { t } = this.ctx;
    await tx.execute(
      `INSERT INTO ${t.deadLetters} (id, step_id, execution_id, kind, name, args, error, attempts, reason, created_at)
       SELECT ?, id, execution_id, kind, name, args, error, attempts, ?, ? FROM ${t.steps} WHERE id = ?`,
      [randomUUID(), reason, now, stepId],
    );
  }

  /** Lists a workflow execution that failed for good (non-determinism). */
  async addExecution(tx: SqlExecutor, executionId: string, error: string, reason: string, now: number): Promise<void> {
    const { t } = this.ctx;
    await tx.execute(
      `INSERT INTO ${t.deadLetters} (id, step_id, execution_id, kind, name, args, error, attempts, reason, created_at)
       SELECT ?, NULL, id, 'workflow', workflow_name, args, ?, recoveries + 1, ?, ? FROM ${t.executions} WHERE id = ?`,
      [randomUUID(), error, reason, now, executionId],
    );
  }

  async discard(deadLetterId: string): Promise<void> {
    const deleted = await this.ctx.client.execute(`DELETE FROM ${this.ctx.t.deadLetters} WHERE id = ?`, [deadLetterId]);
    if (deleted === 0) throw new DeadLetterNotFoundError(deadLetterId);
  }
}
