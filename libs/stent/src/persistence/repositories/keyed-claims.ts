import type { ClaimFilter, FlowClaimLimits, StepRecord } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { STEP_READ, stepFromRow } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE } from '../sql/statements.js';

/**
 * How many steps past a key's free slots a claim reads in the key's order (priority, then due time), so that
 * among them those of executions this worker holds may come first (ClaimFilter.heldHere): a step taken
 * here whose run is held elsewhere costs that run a wake-up and a read.
 */
const HELD_LOOKAHEAD = 8;

/**
 * Per-key concurrency alone (no rate limit, no maxConcurrent) on SQLite, in one statement under the activity's lock
 * (held for that statement and the commit only). Its cost follows the keys and the steps it takes, not the
 * backlog: the keys with pending steps are read by a skip scan of the keyed claim index (one seek a key),
 * each key's running attempts are counted in the running index, and only keys with room have their next
 * steps read, at most their room plus HELD_LOOKAHEAD each, in the index's order.
 *
 * What it takes, as the ranked claim of claimFlowLimited would: within a key, by priority, then steps of
 * executions held here (among those read), then due time; across keys rank by rank (every key's first
 * step, then every key's second, ...), up to `room`; nothing of a parked key. Steps without a key (recorded
 * before the activity had a limit) count as one key that takes at most `min(room, limit)`, in order.
 * PostgreSQL keeps the ranked claim (claimKeyedRanked): this one, written with LATERAL there, cost its
 * server more CPU a keyed step in the bench's interleaved runs.
 */
export async function claimKeyedOnly(ctx: SqlContext, tx: SqlExecutor, filter: ClaimFilter, name: string, limits: FlowClaimLimits, room: number): Promise<StepRecord[]> {
  const { t, dialect } = ctx;
  const limit = limits.concurrency ?? room;
  const perKey = Math.min(room, limit);
  const read = perKey + HELD_LOOKAHEAD;
  const params: unknown[] = [name, name, limit, name];
  const finished = filter.finishedHere ?? [];
  let notFinished = '';
  if (finished.length > 0) {
    notFinished = `AND NOT (${dialect.inList('r.id', finished, params)} AND r.lease_owner = ?)`;
    params.push(filter.owner);
  }
  params.push(name, filter.now);
  // Executions held here are those this worker leases: asked of the few steps read, not by sending the
  // list of held executions (a thousand ids, written and parsed at every claim).
  const elsewhere = (alias: string) => {
    if (!filter.heldHere?.length) return '0';
    params.push(filter.owner);
    return `CASE WHEN (SELECT e.lease_owner FROM ${t.executions} e WHERE e.id = ${alias}.execution_id) = ? THEN 0 ELSE 1 END`;
  };
  /** Due pending steps of the activity in this worker's queues and tags, `alias` the steps table. */
  const due = (alias: string) => `${alias}.name = ? AND ${alias}.state = 'pending' AND ${alias}.kind = 'activity' AND ${alias}.available_at <= ? AND ${dialect.inList(`${alias}.queue`, filter.queues, params)} AND ${dialect.tagFilter(filter.tags, params, `${alias}.tags`)}`;
  const order = (alias: string) => `${alias}.priority DESC, ${alias}.available_at, ${alias}.id`;

  // The next steps of each key with room: SQLite has no LATERAL, a correlated IN list with a LIMIT reads
  // them. It is told the index: without statistics it reads the due steps by time and sorts them all.
  const keyedIndex = `INDEXED BY ${t.prefix}steps_flow_keyed`;
  const heldKeyed = elsewhere('c');
  params.push(name, filter.now);
  const next = `SELECT c2.id FROM ${t.steps} c2 ${keyedIndex} WHERE ${due('c2')} AND c2.concurrency_key = room.k ORDER BY ${order('c2')} LIMIT ?`;
  params.push(read);
  const keyed = `SELECT c.id, room.k, room.free, c.priority, c.available_at, ${heldKeyed} AS elsewhere
    FROM room JOIN ${t.steps} c ON c.id IN (${next})`;
  params.push(perKey);
  params.push(name, filter.now);
  const unkeyedWhere = due('u');
  params.push(read);
  const unkeyed = `SELECT * FROM (
      SELECT u.id, NULL AS k, CAST(? AS BIGINT) AS free, u.priority, u.available_at, 1 AS elsewhere
      FROM ${t.steps} u ${keyedIndex} WHERE ${unkeyedWhere} AND u.concurrency_key IS NULL ORDER BY ${order('u')} LIMIT ?
    ) n`;
  params.push(room, filter.owner);
  const leaseNow = dialect.leaseNow(filter.now, params);
  params.push(filter.leaseMs, filter.now);

  const rows = await tx.query(
    `WITH RECURSIVE keys(k) AS (
       SELECT (SELECT MIN(s.concurrency_key) FROM ${t.steps} s WHERE s.name = ? AND s.state = 'pending' AND s.kind = 'activity' AND s.concurrency_key IS NOT NULL)
       UNION ALL
       SELECT (SELECT MIN(s.concurrency_key) FROM ${t.steps} s WHERE s.name = ? AND s.state = 'pending' AND s.kind = 'activity' AND s.concurrency_key > keys.k)
       FROM keys WHERE keys.k IS NOT NULL
     ),
     room AS MATERIALIZED (
       SELECT f.k, f.free FROM (
         SELECT keys.k, CAST(? AS BIGINT) - (SELECT COUNT(*) FROM ${t.steps} r WHERE r.name = ? AND r.state = 'running' AND r.concurrency_key = keys.k ${notFinished}) AS free
         FROM keys LEFT JOIN ${t.flowKeys} kc ON kc.name = ? AND kc.flow_key = keys.k
         WHERE keys.k IS NOT NULL AND COALESCE(kc.blocked_until, 0) <= ?
       ) f WHERE f.free > 0
     ),
     candidates AS (${keyed} UNION ALL ${unkeyed}),
     picked AS MATERIALIZED (
       SELECT id FROM (
         SELECT id, free, priority, elsewhere, available_at, ROW_NUMBER() OVER (PARTITION BY k ORDER BY priority DESC, elsewhere, available_at, id) AS rn FROM candidates
       ) r WHERE rn <= free ORDER BY rn, priority DESC, elsewhere, available_at, id LIMIT ?
     )
     UPDATE ${t.steps} SET state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${leaseNow} + CAST(? AS BIGINT), attempts = attempts + 1, started_at = ?
     WHERE id IN (SELECT id FROM picked) AND state = 'pending' AND (SELECT e.state FROM ${t.executions} e WHERE e.id = ${t.steps}.execution_id) IN ${ACTIVE}
     RETURNING ${STEP_READ.join(', ')}`,
    params,
  );
  return rows.map(stepFromRow).sort((a, b) => b.priority - a.priority || a.availableAt - b.availableAt);
}
