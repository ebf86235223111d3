import type { SqlExecutor } from '../clients/sql-client.js';
import { num } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import type { EffectsRepository } from './effects.js';
import type { ExecutionsRepository } from './executions.js';
import type { PublishedRepository } from './published.js';

/** Takes steps out of a journal as if they had never been recorded (tentative steps a replay did not repeat). */
export class StepDiscard {
  constructor(
    private readonly ctx: SqlContext,
    private readonly executions: ExecutionsRepository,
    private readonly effects: EffectsRepository,
    private readonly published: PublishedRepository,
  ) {}

  /** Steps at these positions (the SQL text is the same whatever their number). */
  atPositions(tx: SqlExecutor, executionId: string, positions: number[]): Promise<void> {
    return this.where(tx, executionId, `position IN (${positions.map(() => '?').join(', ')})`, positions);
  }

  /**
   * Deletes the steps of an execution matching `where` (over the steps table, with `params`): child
   * executions they started go too, signals they consumed are handed back, their dead letters and stream entries
   * removed, and the execution's counters, progress, state and events are recomputed from the effects that remain.
   */
  async where(tx: SqlExecutor, executionId: string, where: string, params: unknown[]): Promise<void> {
    const { t, dialect } = this.ctx;
    const doomed = await tx.query<{ id: string; position: unknown; child_execution_id: string | null }>(
      `SELECT id, position, child_execution_id FROM ${t.steps} WHERE execution_id = ? AND ${where}`,
      [executionId, ...params],
    );
    if (doomed.length === 0) return;
    const positions = doomed.map((step) => num(step.position));
    const signalParams: unknown[] = [executionId];
    await tx.execute(
      `UPDATE ${t.signals} SET consumed_at = NULL, consumed_position = NULL WHERE execution_id = ? AND ${dialect.inList('consumed_position', positions, signalParams)}`,
      signalParams,
    );
    const letterParams: unknown[] = [];
    await tx.execute(`DELETE FROM ${t.deadLetters} WHERE ${dialect.inList('step_id', doomed.map((step) => String(step.id)), letterParams)}`, letterParams);
    for (const { child_execution_id: childId } of doomed) if (childId) await this.executions.deleteExecutionTree(tx, childId);
    const stepParams: unknown[] = [executionId];
    await tx.execute(`DELETE FROM ${t.steps} WHERE execution_id = ? AND ${dialect.inList('position', positions, stepParams)}`, stepParams);
    await this.published.dropStreamEntries(tx, executionId, positions);
    await this.effects.recompute(tx, executionId);
  }
}
