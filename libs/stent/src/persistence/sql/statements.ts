import type { ExecutionFence, LocalCompletion } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import type { Dialect } from './dialect.js';
import type { SqlContext } from './sql-context.js';

/** Statement fragments used by several repositories, each written once. */

/** States of an execution or step that is still going on. */
export const ACTIVE = `('pending', 'running')`;

/** Gives up a row's lease. */
export const NO_LEASE = 'lease_owner = NULL, lease_expires_at = NULL';

/** Records a step's successful result and gives up its lease; `result` and `finishedAt` are SQL expressions. */
export function completedStep(result = '?', finishedAt = '?'): string {
  return `state = 'completed', result = ${result}, error = NULL, ${NO_LEASE}, finished_at = ${finishedAt}`;
}

/** The step row `row` is still running under the lease `fence` names (columns id, owner, epoch of `fence`, or placeholders). */
export function stepStillOwned(row?: string, fence?: string): string {
  const column = (name: string) => (row ? `${row}.${name}` : name);
  const value = (name: string) => (fence ? `${fence}.${name}` : '?');
  return `${column('id')} = ${value('id')} AND ${column('lease_owner')} = ${value('owner')} AND ${column('lease_epoch')} = ${value('epoch')} AND ${column('state')} = 'running'`;
}

/**
 * `row`'s lease owner is `owner`, an owner read from another row of the statement (a join, a correlated
 * subquery). Written so that it cannot be an index condition: PostgreSQL then reads `row` by its id, never
 * through the lease index, which a plan made on young statistics took and which scans every row the worker
 * holds (hundreds, for each row of the statement).
 */
export function heldBy(row: string, owner: string): string {
  return `${row}.lease_owner IS NOT DISTINCT FROM ${owner}`;
}

/** The execution row is active and held under the fence (params: fenceParams). */
export const EXECUTION_FENCE = `id = ? AND lease_owner = ? AND lease_epoch = ? AND state IN ${ACTIVE}`;

export function fenceParams(fence: ExecutionFence): unknown[] {
  return [fence.executionId, fence.owner, fence.epoch];
}

/**
 * A started execution not already due to wake by `?` (params: now). One that has not started ('pending')
 * is left alone: its wake_at is when it may start (a delay, a debounce's quiet period, a singleton's turn,
 * none yet), not a wait that something it receives could cut short.
 */
export const WAKEABLE = `state = 'running' AND (wake_at IS NULL OR wake_at > ?)`;

/**
 * Whether the fence still holds, and from then on until the transaction ends. PostgreSQL locks the
 * execution row (by writing it); SQLite's transactions hold the database's write lock from their start,
 * so reading the row is enough there and spares every journal write a second page to write.
 */
export async function holdsFence(ctx: SqlContext, tx: SqlExecutor, fence: ExecutionFence, now: number): Promise<boolean> {
  if (ctx.dialect.name === 'sqlite') {
    const rows = await tx.query(`SELECT 1 AS held FROM ${ctx.t.executions} WHERE ${EXECUTION_FENCE}`, fenceParams(fence));
    return rows.length === 1;
  }
  const changed = await tx.execute(`UPDATE ${ctx.t.executions} SET updated_at = ? WHERE ${EXECUTION_FENCE}`, [now, ...fenceParams(fence)]);
  return changed === 1;
}

/** Brings an execution's wake-up time forward to `?` unless it is due already (params: now, now). */
export const WAKE_NOW = 'wake_at = CASE WHEN wake_at IS NULL OR wake_at > ? THEN ? ELSE wake_at END';

/** Sets a started execution's wake-up time to `now` (unless it is due already), so its holder or the next claim sees the change. */
export async function wake(ctx: SqlContext, tx: SqlExecutor, executionId: string, now: number): Promise<void> {
  await tx.execute(`UPDATE ${ctx.t.executions} SET wake_at = ? WHERE id = ? AND ${WAKEABLE}`, [now, executionId, now]);
}

/**
 * A typed VALUES list of results a workflow already used (step id, owner, epoch, result, finished_at, and
 * with `executionOf` the execution id), for statements that record them in one go.
 */
export function completionValues(dialect: Dialect, completions: LocalCompletion[], params: unknown[], executionOf?: (completion: LocalCompletion) => string): string {
  return completions
    .map((completion) => {
      params.push(...completionParams(completion));
      if (!executionOf) return dialect.valuesRow(COMPLETION_TYPES);
      params.push(executionOf(completion));
      return dialect.valuesRow([...COMPLETION_TYPES, 'varchar']);
    })
    .join(', ');
}

/** The parameters of a completion's VALUES row, in the order of COMPLETION_TYPES. */
export function completionParams(completion: LocalCompletion): unknown[] {
  return [completion.fence.stepId, completion.fence.owner, completion.fence.epoch, completion.result, completion.finishedAt];
}

/** The types of a completion's VALUES row: step id, owner, epoch, result, finished_at. */
export const COMPLETION_TYPES = ['varchar', 'varchar', 'integer', 'text', 'bigint'] as const;
