import type { SlotHandOff } from '../../core/index.js';
import { listOf } from '../sql/dialect.js';
import { STEP_READ } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE } from '../sql/statements.js';
import { nextStepOfKey } from './slot-hand-off.js';

/**
 * The CTEs that hand off every slot of a shared statement's endings at once (see SlotHandOff and
 * handOffUpdate, which does one): `hv` lists the slots whose step's result the statement records (CTE
 * `done`); `handed` starts, for each, its key's next due pending step in claim order, leased to the
 * filter's owner, and returns it with the slot's index as `hand_idx`. `slotRows` reads the slots (index
 * in the batch, step id, activity, key; see RowSource), their parameters already pushed; the filter's
 * are pushed onto `params` in text order. All slots share `filter`, and no two are of one activity and
 * key (see SharedWrites' batches): each one's pick is then its own, however PostgreSQL orders the picks
 * and the updates.
 */
export function sharedHandOffCtes(ctx: SqlContext, filter: SlotHandOff['filter'], slotRows: string, params: unknown[]): string {
  const { t, dialect } = ctx;
  const hv = `hv AS (
       SELECT h.idx, h.name, h.key
       FROM ${slotRows} AS h(idx, step_id, name, key)
       WHERE EXISTS (SELECT 1 FROM done WHERE done.id = h.step_id)
     )`;
  params.push(filter.owner);
  const leaseNow = dialect.leaseNow(filter.now, params);
  params.push(filter.leaseMs, filter.now);
  const pick = nextStepOfKey(ctx, filter, { name: () => 'hv.name', key: () => 'hv.key' }, params);
  const handed = `handed AS (
       UPDATE ${t.steps} SET state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${leaseNow} + CAST(? AS BIGINT), attempts = attempts + 1, started_at = ?
       FROM (SELECT hv.idx, ${pick} AS id FROM hv) picked
       WHERE ${t.steps}.id = picked.id AND ${t.steps}.state = 'pending'
         AND (SELECT e.state FROM ${t.executions} e WHERE e.id = ${t.steps}.execution_id) IN ${ACTIVE}
       RETURNING picked.idx AS hand_idx, ${listOf(STEP_READ, t.steps)}
     )`;
  return `${hv}, ${handed}`;
}

/** The shape of sharedHandOffCtes' text for `filter`: the text depends on nothing else. */
export function handOffShape(filter: SlotHandOff['filter']): string {
  return `${filter.queues.length === 1 ? 1 : filter.queues.length === 0 ? 0 : 'n'}/${filter.tags.length > 0 ? 't' : ''}/${filter.preferHeld ? 'h' : ''}`;
}
