import { ExecutionFinishedError, ExecutionNotFoundError, StentError, type ExecutionFence, type SignalTake } from '../../core/index.js';
import type { SqlContext } from '../sql/sql-context.js';
import { holdsFence, wake } from '../sql/statements.js';

/** Signals: stored for an active execution until it waits for them, each consumed once, in order. */
export class SignalsRepository {
  constructor(private readonly ctx: SqlContext) {}

  /** Stores a signal for an active execution and wakes it. Throws ExecutionNotFoundError / ExecutionFinishedError. */
  async send(executionId: string, name: string, payload: string, now: number): Promise<void> {
    const { t, dialect } = this.ctx;
    await this.ctx.client.transaction(async (tx) => {
      const [row] = await tx.query<{ state: string }>(`SELECT state FROM ${t.executions} WHERE id = ?${dialect.forUpdate}`, [executionId]);
      if (!row) throw new ExecutionNotFoundError(executionId);
      if (row.state !== 'pending' && row.state !== 'running') throw new ExecutionFinishedError(executionId, row.state);
      await tx.execute(`INSERT INTO ${t.signals} (execution_id, name, payload, created_at) VALUES (?, ?, ?, ?)`, [executionId, name, payload, now]);
      await wake(this.ctx, tx, executionId, now);
    });
    this.ctx.bus.publish({ type: 'woken', executionId });
    this.ctx.bus.publish({ type: 'work', of: 'executions' });
  }

  /**
   * Consumes the oldest unconsumed signal `name` for the step at `position`, completing that step in
   * the same transaction. With `timeoutError`, a step that finds none is failed with it instead.
   */
  async consume(fence: ExecutionFence, position: number, name: string, now: number, timeoutError: string | null): Promise<SignalTake> {
    const { t } = this.ctx;
    return this.ctx.client.transaction(async (tx) => {
      if (!(await holdsFence(this.ctx, tx, fence, now))) return { kind: 'lost' as const };
      const [signal] = await tx.query<{ seq: unknown; payload: string }>(
        `SELECT seq, payload FROM ${t.signals} WHERE execution_id = ? AND name = ? AND consumed_at IS NULL ORDER BY seq LIMIT 1`,
        [fence.executionId, name],
      );
      if (signal) {
        const claimed = await tx.execute(`UPDATE ${t.signals} SET consumed_at = ?, consumed_position = ? WHERE seq = ? AND consumed_at IS NULL`, [
          now,
          position,
          signal.seq,
        ]);
        const stepped = await tx.execute(
          `UPDATE ${t.steps} SET state = 'completed', result = ?, finished_at = ? WHERE execution_id = ? AND position = ? AND state = 'waiting'`,
          [signal.payload, now, fence.executionId, position],
        );
        if (claimed !== 1 || stepped !== 1) throw new StentError(`Signal '${name}' for execution ${fence.executionId} could not be consumed at position ${position}`);
        return { kind: 'received' as const, payload: signal.payload };
      }
      if (timeoutError === null) return { kind: 'none' as const };
      await tx.execute(`UPDATE ${t.steps} SET state = 'failed', error = ?, finished_at = ? WHERE execution_id = ? AND position = ? AND state = 'waiting'`, [
        timeoutError,
        now,
        fence.executionId,
        position,
      ]);
      return { kind: 'timed_out' as const };
    });
  }
}
