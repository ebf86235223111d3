import type { SlotHandOff, StepRecord } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { listOf } from '../sql/dialect.js';
import { STEP_READ, stepFromRow } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE } from '../sql/statements.js';
import { notPausedStep } from './pauses.js';

/*
 * A slot handed off: the write that ends a keyed step (its result recorded) starts the next due pending
 * step of the same activity and key in the same transaction, leased to the writer. The key's count of
 * running steps is the same before and after that write, whoever counts it and whenever, so no lock is
 * taken: a claim under the activity's lock that counted the ended step as running finds the started one
 * no longer pending (its UPDATE re-checks the state) or counts it running in its place.
 *
 * The step taken is the one a claim would take first within the key: highest priority, then (with
 * `preferHeld`) steps of executions the writer holds, then the oldest.
 */

export interface HandOffQuery {
  sql: string;
  params: unknown[];
}

/**
 * The UPDATE that starts the next step of `slot`'s activity and key for the hand-off's owner (RETURNING
 * the step's columns, at most one row). `onlyIf` (SQL, may be empty) adds a condition, as `AND ...`.
 */
export function handOffUpdate(ctx: SqlContext, handOff: SlotHandOff, slot: { name: string; key: string }, onlyIf = ''): HandOffQuery {
  const { t, dialect } = ctx;
  const { filter } = handOff;
  const params: unknown[] = [filter.owner];
  const leaseNow = dialect.leaseNow(filter.now, params);
  params.push(filter.leaseMs, filter.now, slot.name, slot.key, filter.now);
  const queues = dialect.inList('d.queue', filter.queues, params);
  const tags = dialect.tagFilter(filter.tags, params, 'd.tags');
  let held = '';
  if (filter.preferHeld) {
    held = `CASE WHEN (SELECT e.lease_owner FROM ${t.executions} e WHERE e.id = d.execution_id) = ? THEN 0 ELSE 1 END, `;
    params.push(filter.owner);
  }
  // `+d.available_at`: not a range to search by, so SQLite reads the key's steps through steps_flow_keyed.
  const sql = `UPDATE ${t.steps} SET state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${leaseNow} + CAST(? AS BIGINT), attempts = attempts + 1, started_at = ?
     WHERE id = (
       SELECT d.id FROM ${t.steps} d
       WHERE d.name = ? AND d.concurrency_key = ? AND d.state = 'pending' AND d.kind = 'activity' AND +d.available_at <= ? AND ${queues} AND ${tags}
         AND (SELECT e.state FROM ${t.executions} e WHERE e.id = d.execution_id) IN ${ACTIVE} AND ${notPausedStep(t.pauses, 'd')}
       ORDER BY d.priority DESC, ${held}d.available_at, d.id LIMIT 1${dialect.skipLocked}
     ) AND state = 'pending'${onlyIf}
     RETURNING ${listOf(STEP_READ)}`;
  return { sql, params };
}

/** Starts, in the caller's transaction, one step for each slot whose step's result it recorded (`recorded`: step ids). */
export async function handOffSlots(ctx: SqlContext, tx: SqlExecutor, handOff: SlotHandOff, recorded: ReadonlySet<string>): Promise<StepRecord[]> {
  const started: StepRecord[] = [];
  for (const slot of handOff.slots) {
    if (!recorded.has(slot.stepId)) continue;
    const { sql, params } = handOffUpdate(ctx, handOff, slot);
    started.push(...(await tx.query(sql, params)).map(stepFromRow));
  }
  return started;
}
