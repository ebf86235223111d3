import type { ClaimFilter, FlowClaimLimits, StepFence, StepOutcome, StepRecord } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { num, numOrNull, STEP_READ, stepFromRow, strOrNull } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE, NO_LEASE, stepStillOwned } from '../sql/statements.js';

interface Candidate {
  id: string;
  concurrencyKey: string | null;
  rateKey: string | null;
}

interface KeyRow {
  windowStart: number;
  used: number;
  blockedUntil: number | null;
  exists: boolean;
}

/**
 * Claims of activities with per-key concurrency or a rate limit. The caller's transaction holds the
 * activity's lock (Dialect.lockCap), so counting running steps per key, reading each key's window and
 * taking steps is one decision no other claimer interleaves with: the limits hold across processes.
 *
 * Fairness: pending steps are ranked within their key and taken rank by rank (every key's first step,
 * then every key's second, ...), so a key with a long backlog takes one turn per key like any other.
 * Rate windows are fixed: they start at multiples of `per` since the epoch, and a window's count is of
 * attempts started in it (a retry counts again; a parked attempt's start counts).
 */
export async function claimFlowLimited(ctx: SqlContext, tx: SqlExecutor, filter: ClaimFilter, name: string, limits: FlowClaimLimits, room: number): Promise<StepRecord[]> {
  const { t, dialect } = ctx;
  const now = filter.now;
  let total = room;
  if (limits.total !== null) {
    const [running] = await tx.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${t.steps} WHERE name = ? AND state = 'running'`, [name]);
    total = Math.min(total, limits.total - num(running?.n ?? 0));
  }
  if (total <= 0) return [];
  const candidates = await pendingByRank(ctx, tx, filter, name, total);
  if (candidates.length === 0) return [];

  const running = new Map<string, number>();
  if (limits.concurrency !== null) {
    const rows = await tx.query<{ k: unknown; n: unknown }>(
      `SELECT concurrency_key AS k, COUNT(*) AS n FROM ${t.steps} WHERE name = ? AND state = 'running' AND concurrency_key IS NOT NULL GROUP BY concurrency_key`,
      [name],
    );
    for (const row of rows) running.set(String(row.k), num(row.n));
  }
  const keys = await readKeys(ctx, tx, name, candidates);
  const windowStart = limits.rate ? Math.floor(now / limits.rate.perMs) * limits.rate.perMs : 0;
  const usedNow = (key: string) => {
    const row = keys.get(key);
    return row && row.windowStart === windowStart ? row.used : 0;
  };
  const blocked = (key: string | null) => key !== null && (keys.get(key)?.blockedUntil ?? 0) > now;

  const picked: string[] = [];
  const takenPerRateKey = new Map<string, number>();
  for (const candidate of candidates) {
    if (picked.length >= total) break;
    const { concurrencyKey: ck, rateKey: rk } = candidate;
    if (blocked(ck) || blocked(rk)) continue;
    if (limits.concurrency !== null && ck !== null && (running.get(ck) ?? 0) >= limits.concurrency) continue;
    if (limits.rate !== null && rk !== null && usedNow(rk) + (takenPerRateKey.get(rk) ?? 0) >= limits.rate.limit) continue;
    picked.push(candidate.id);
    if (ck !== null) running.set(ck, (running.get(ck) ?? 0) + 1);
    if (rk !== null) takenPerRateKey.set(rk, (takenPerRateKey.get(rk) ?? 0) + 1);
  }
  if (picked.length === 0) return [];

  for (const [key, taken] of takenPerRateKey) {
    const row = keys.get(key);
    if (!row?.exists) await tx.execute(`INSERT INTO ${t.flowKeys} (name, flow_key, window_start, used) VALUES (?, ?, ?, 0) ON CONFLICT (name, flow_key) DO NOTHING`, [name, key, windowStart]);
    await tx.execute(`UPDATE ${t.flowKeys} SET window_start = ?, used = ? WHERE name = ? AND flow_key = ?`, [windowStart, usedNow(key) + taken, name, key]);
  }

  const setParams: unknown[] = [filter.owner];
  const leaseNow = dialect.leaseNow(now, setParams);
  setParams.push(filter.leaseMs, now);
  const ids = dialect.inList('id', picked, setParams);
  const rows = await tx.query(
    `UPDATE ${t.steps} SET state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${leaseNow} + CAST(? AS BIGINT), attempts = attempts + 1, started_at = ?
     WHERE ${ids} AND state = 'pending' RETURNING ${STEP_READ.join(', ')}`,
    setParams,
  );
  const order = new Map(picked.map((id, index) => [id, index]));
  return rows.map(stepFromRow).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
}

/** Due pending steps of the activity, at most `perKey` of each key, in rank order (round-robin over keys). */
async function pendingByRank(ctx: SqlContext, tx: SqlExecutor, filter: ClaimFilter, name: string, perKey: number): Promise<Candidate[]> {
  const { t, dialect } = ctx;
  const params: unknown[] = [name, filter.now];
  const queueClause = dialect.inList('c.queue', filter.queues, params);
  const tagClause = dialect.tagFilter(filter.tags, params, 'c.tags');
  params.push(perKey);
  const rows = await tx.query<{ id: unknown; concurrency_key: unknown; rate_key: unknown }>(
    `SELECT r.id, r.concurrency_key, r.rate_key FROM (
       SELECT c.id, c.concurrency_key, c.rate_key, c.priority, c.available_at,
              ROW_NUMBER() OVER (PARTITION BY COALESCE(c.concurrency_key, c.rate_key, '') ORDER BY c.priority DESC, c.available_at, c.id) AS rn
       FROM ${t.steps} c
       WHERE c.state = 'pending' AND c.kind = 'activity' AND c.name = ? AND c.available_at <= ? AND ${queueClause} AND ${tagClause}
         AND EXISTS (SELECT 1 FROM ${t.executions} e WHERE e.id = c.execution_id AND e.state IN ${ACTIVE})
     ) r WHERE r.rn <= ? ORDER BY r.rn, r.priority DESC, r.available_at, r.id`,
    params,
  );
  return rows.map((row) => ({ id: String(row.id), concurrencyKey: strOrNull(row.concurrency_key), rateKey: strOrNull(row.rate_key) }));
}

async function readKeys(ctx: SqlContext, tx: SqlExecutor, name: string, candidates: Candidate[]): Promise<Map<string, KeyRow>> {
  const wanted = new Set<string>();
  for (const { concurrencyKey, rateKey } of candidates) {
    if (concurrencyKey !== null) wanted.add(concurrencyKey);
    if (rateKey !== null) wanted.add(rateKey);
  }
  const keys = new Map<string, KeyRow>();
  if (wanted.size === 0) return keys;
  const params: unknown[] = [name];
  const list = ctx.dialect.inList('flow_key', [...wanted], params);
  const rows = await tx.query<{ flow_key: unknown; window_start: unknown; used: unknown; blocked_until: unknown }>(
    `SELECT flow_key, window_start, used, blocked_until FROM ${ctx.t.flowKeys} WHERE name = ? AND ${list}`,
    params,
  );
  for (const row of rows) keys.set(String(row.flow_key), { windowStart: num(row.window_start), used: num(row.used), blockedUntil: numOrNull(row.blocked_until), exists: true });
  return keys;
}

/**
 * A RateLimitedError: the step is pending again at `availableAt` with its attempt given back, and its key
 * (if any) is blocked until then so no other step of the key is claimed meanwhile.
 */
export async function parkStep(ctx: SqlContext, tx: SqlExecutor, fence: StepFence, outcome: Extract<StepOutcome, { kind: 'parked' }>): Promise<number> {
  const { t } = ctx;
  const changed = await tx.execute(
    `UPDATE ${t.steps} SET state = 'pending', error = ?, available_at = ?, attempts = attempts - 1, ${NO_LEASE} WHERE ${stepStillOwned()}`,
    [outcome.error, outcome.availableAt, fence.stepId, fence.owner, fence.epoch],
  );
  if (changed === 1 && outcome.flowKey !== null) {
    await tx.execute(`INSERT INTO ${t.flowKeys} (name, flow_key, window_start, used) VALUES (?, ?, 0, 0) ON CONFLICT (name, flow_key) DO NOTHING`, [outcome.name, outcome.flowKey]);
    await tx.execute(
      `UPDATE ${t.flowKeys} SET blocked_until = CASE WHEN blocked_until IS NULL OR blocked_until < ? THEN ? ELSE blocked_until END WHERE name = ? AND flow_key = ?`,
      [outcome.availableAt, outcome.availableAt, outcome.name, outcome.flowKey],
    );
  }
  return changed;
}
