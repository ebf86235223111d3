import { randomUUID } from 'node:crypto';
import { ExecutionExistsError, ExecutionNotFinishedError, ExecutionNotFoundError, HistoryPositionError, isFinalState, type ExecutionState, type ForkRequest } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { num } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { NO_LEASE } from '../sql/statements.js';
import type { EffectsRepository } from './effects.js';
import { isUniqueViolation } from './executions.js';
import type { StepDiscard } from './step-discard.js';

/** Columns copied from a source step to its copy in a fork (the id and execution id are new). */
const COPIED_STEP_COLUMNS = [
  'position', 'kind', 'name', 'args', 'state', 'result', 'error', 'attempts', 'retry_policy', 'timeout_ms', 'queue', 'priority', 'tags',
  'max_concurrent', 'available_at', 'fire_at', 'lease_epoch', 'created_at', 'started_at', 'finished_at', 'child_execution_id', 'call_turn',
  'delivered_turn', 'delivered_seq',
].join(', ');

/**
 * Going back in an execution's history: a fork is a new execution whose journal is a copy of another's up
 * to a position (children started before it are reused, the rest runs anew); a rewind cuts a finished
 * execution's own journal at a position and runs it again from there.
 */
export class HistoryRepository {
  constructor(
    private readonly ctx: SqlContext,
    private readonly discard: StepDiscard,
    private readonly effects: EffectsRepository,
  ) {}

  async fork(request: ForkRequest): Promise<void> {
    try {
      await this.forkWithin(request);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ExecutionExistsError(request.newId);
      throw error;
    }
    this.ctx.bus.publish({ type: 'work' });
  }

  private async forkWithin(request: ForkRequest): Promise<void> {
    const { t } = this.ctx;
    const { sourceId, fromPosition, newId, now } = request;
    await this.ctx.client.transaction(async (tx) => {
      const [source] = await tx.query<{ workflow_name: string; args: string; queue: string; priority: unknown; tags: string; max_duration_ms: unknown; workflow_version: unknown; concurrency_key: string | null; rate_key: string | null }>(
        `SELECT workflow_name, args, queue, priority, tags, max_duration_ms, workflow_version, concurrency_key, rate_key FROM ${t.executions} WHERE id = ?`,
        [sourceId],
      );
      if (!source) throw new ExecutionNotFoundError(sourceId);
      await this.checkCut(tx, sourceId, fromPosition);
      const maxDuration = source.max_duration_ms === null ? null : num(source.max_duration_ms);
      // lease_epoch 1: its first claim is then not taken for a first start (that one loads no journal).
      await tx.execute(
        `INSERT INTO ${t.executions} (id, workflow_name, state, args, queue, priority, tags, created_at, updated_at, wake_at, deadline_at, max_duration_ms,
           lease_epoch, workflow_version, forked_from, forked_at, concurrency_key, rate_key)
         VALUES (?, ?, 'pending', ?, ?, CAST(? AS INTEGER), ?, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), 1, CAST(? AS INTEGER), ?, CAST(? AS INTEGER), ?, ?)`,
        [
          newId,
          source.workflow_name,
          request.args ?? source.args,
          source.queue,
          num(source.priority),
          source.tags,
          now,
          now,
          now,
          maxDuration === null ? null : now + maxDuration,
          maxDuration,
          source.workflow_version === null ? null : num(source.workflow_version),
          sourceId,
          fromPosition,
          // New arguments may give other flow keys, which only the workflow's class knows: then the key ''.
          request.args == null ? source.concurrency_key : null,
          request.args == null ? source.rate_key : null,
        ],
      );
      // Step ids are the new execution's own: a fresh prefix and the position.
      await tx.execute(
        `INSERT INTO ${t.steps} (id, execution_id, ${COPIED_STEP_COLUMNS})
         SELECT ? || '-' || CAST(position AS VARCHAR(12)), ?, ${COPIED_STEP_COLUMNS} FROM ${t.steps} WHERE execution_id = ? AND position < ?`,
        [randomUUID(), newId, sourceId, fromPosition],
      );
      await this.effects.recompute(tx, newId);
    });
  }

  async rewind(executionId: string, fromPosition: number, now: number): Promise<void> {
    const { t, dialect } = this.ctx;
    await this.ctx.client.transaction(async (tx) => {
      const [row] = await tx.query<{ state: ExecutionState; max_duration_ms: unknown }>(
        `SELECT state, max_duration_ms FROM ${t.executions} WHERE id = ?${dialect.forUpdate}`,
        [executionId],
      );
      if (!row) throw new ExecutionNotFoundError(executionId);
      if (!isFinalState(row.state)) throw new ExecutionNotFinishedError(executionId, row.state);
      await this.checkCut(tx, executionId, fromPosition);
      // Steps from the position on go as if never recorded: children they started, signals they took (handed
      // back), their dead letters; progress, counters and state are rebuilt from what remains.
      await this.discard.where(tx, executionId, 'position >= ?', [fromPosition]);
      await tx.execute(`DELETE FROM ${t.deadLetters} WHERE execution_id = ? AND step_id IS NULL`, [executionId]);
      const maxDuration = row.max_duration_ms === null ? null : num(row.max_duration_ms);
      // A new epoch: a run some worker still keeps in memory from before the ending cannot be resumed as if
      // nothing had happened (SuspendedRuns wants the epoch one past its own).
      await tx.execute(
        `UPDATE ${t.executions}
         SET state = 'pending', result = NULL, error = NULL, finished_at = NULL, updated_at = ?, wake_at = ?, ${NO_LEASE}, lease_epoch = lease_epoch + 1,
             deadline_at = ?, revive_position = NULL, continued_as = NULL, forked_from = id, forked_at = ?
         WHERE id = ?`,
        [now, now, maxDuration === null ? null : now + maxDuration, fromPosition, executionId],
      );
    });
    this.ctx.bus.publish({ type: 'work' });
  }

  /** The journal can be cut before `position`: a step exists just before it (or it is 0) and every step before it settled. */
  private async checkCut(tx: SqlExecutor, executionId: string, position: number): Promise<void> {
    const { t } = this.ctx;
    if (!Number.isSafeInteger(position) || position < 0) throw new HistoryPositionError(executionId, position, 'it must be a whole number >= 0');
    const [counts] = await tx.query<{ total: unknown; before: unknown; unsettled: unknown }>(
      `SELECT COUNT(*) AS total,
              SUM(CASE WHEN position < ? THEN 1 ELSE 0 END) AS before,
              SUM(CASE WHEN position < ? AND state NOT IN ('completed', 'failed') THEN 1 ELSE 0 END) AS unsettled
       FROM ${t.steps} WHERE execution_id = ?`,
      [position, position, executionId],
    );
    const total = num(counts?.total ?? 0);
    if (position > total) throw new HistoryPositionError(executionId, position, `its journal has ${total} step(s): positions 0 to ${total}`);
    if (num(counts?.before ?? 0) !== position) throw new HistoryPositionError(executionId, position, 'the journal has gaps before it');
    if (num(counts?.unsettled ?? 0) > 0) {
      const [first] = await tx.query<{ position: unknown; name: string; state: string }>(
        `SELECT position, name, state FROM ${t.steps} WHERE execution_id = ? AND position < ? AND state NOT IN ('completed', 'failed') ORDER BY position LIMIT 1`,
        [executionId, position],
      );
      throw new HistoryPositionError(executionId, position, `step ${num(first?.position)} (${first?.name}) before it is ${first?.state}, not settled`);
    }
  }
}
