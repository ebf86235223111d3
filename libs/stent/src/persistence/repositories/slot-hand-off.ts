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
 * `preferHeld`) steps of executions the writer holds among the key's first HELD_WINDOW, then the oldest.
 */

/**
 * How many of a key's waiting steps, in claim order, a claim or hand-off looks through for one of an
 * execution its worker holds (ClaimFilter.preferHeld). Past them it takes the oldest as anyone would.
 */
export const HELD_WINDOW = 64;

export interface HandOffQuery {
  sql: string;
  params: unknown[];
}

/**
 * The id of `slot`'s key's next step to start, as a scalar subquery: the first due pending step of the
 * activity and key this worker may run, in claim order (see above). `slot` gives the activity and key as
 * SQL, each called where the text needs it (it may push a parameter). Parameters go onto `params` in text order.
 */
export function nextStepOfKey(ctx: SqlContext, filter: SlotHandOff['filter'], slot: { name: () => string; key: () => string }, params: unknown[]): string {
  const { t, dialect } = ctx;
  /** The key's due pending steps this worker may run (alias `alias`), read in steps_flow_keyed's order. */
  const ofKey = (alias: string): string => {
    const name = slot.name();
    const key = slot.key();
    params.push(filter.now);
    const queues = dialect.inList(`${alias}.queue`, filter.queues, params);
    const tags = dialect.tagFilter(filter.tags, params, `${alias}.tags`);
    // `+available_at`: not a range to search by, so SQLite reads the key's steps through steps_flow_keyed.
    return `${alias}.name = ${name} AND ${alias}.concurrency_key = ${key} AND ${alias}.state = 'pending' AND ${alias}.kind = 'activity' AND +${alias}.available_at <= ? AND ${queues} AND ${tags} AND ${notPausedStep(t.pauses, alias)}`;
  };
  /** The key's first step in claim order. */
  const first = (alias: string): string =>
    `SELECT ${alias}.id FROM ${t.steps} ${alias} WHERE ${ofKey(alias)} ORDER BY ${alias}.priority DESC, ${alias}.available_at, ${alias}.id LIMIT 1${dialect.skipLocked}`;
  if (!filter.preferHeld) return `(${first('d')})`;
  // Among the key's first HELD_WINDOW steps of its highest priority, one of an execution this worker holds
  // first (its result then stays in this process). The window is read in order and left at the first such
  // step; it bounds what a probe reads when this worker holds none of the key's waiting steps (without it,
  // every one of them and its execution).
  // Placeholders in text order: the window's key, the top priority's key, the owner, then the fallback.
  const windowKey = ofKey('w');
  const topKey = ofKey('p');
  params.push(filter.owner);
  const held = `SELECT h.id FROM ${t.steps} h
     WHERE h.id = (
       SELECT c.id FROM (
         SELECT w.id, w.execution_id FROM ${t.steps} w
         WHERE ${windowKey} AND w.priority = (SELECT p.priority FROM ${t.steps} p WHERE ${topKey} ORDER BY p.priority DESC LIMIT 1)
         ORDER BY w.priority DESC, w.available_at, w.id LIMIT ${HELD_WINDOW}
       ) c
       WHERE (SELECT e.lease_owner FROM ${t.executions} e WHERE e.id = c.execution_id) = ?
       LIMIT 1
     ) AND h.state = 'pending'${dialect.skipLocked}`;
  return `COALESCE((${held}), (${first('d')}))`;
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
  params.push(filter.leaseMs, filter.now);
  const placeholder = (value: string) => () => {
    params.push(value);
    return '?';
  };
  const pick = nextStepOfKey(ctx, filter, { name: placeholder(slot.name), key: placeholder(slot.key) }, params);
  // A step of an execution that ended meanwhile (rare: an ending cancels its steps) is not taken, nor another
  // in its place: the slot is then free to claims.
  const sql = `UPDATE ${t.steps} SET state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${leaseNow} + CAST(? AS BIGINT), attempts = attempts + 1, started_at = ?
     WHERE id = ${pick} AND state = 'pending'
       AND (SELECT e.state FROM ${t.executions} e WHERE e.id = ${t.steps}.execution_id) IN ${ACTIVE}${onlyIf}
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
