import type { ClaimFilter, FlowClaimLimits, StepFence, StepOutcome, StepRecord } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { num, numOrNull, STEP_READ, stepFromRow, strOrNull } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE, NO_LEASE, stepStillOwned } from '../sql/statements.js';
import { RateWindowCounts, windowStartOf, type WindowRow } from './rate-windows.js';
import { HELD_WINDOW } from './slot-hand-off.js';

/** A flow key's row: its rate window, and until when a RateLimitedError parked the key. */
interface KeyRow extends WindowRow {
  blockedUntil: number | null;
}

interface Candidate {
  id: string;
  concurrencyKey: string | null;
  rateKey: string | null;
  /** Running attempts of its concurrency key when the claim began. */
  running: number;
  concurrencyBlockedUntil: number | null;
  rateKeyRow: KeyRow | null;
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
  const candidates = await candidatesByRank(ctx, tx, filter, name, limits, total);
  if (candidates.length === 0) return [];

  const windows = limits.rate ? new RateWindowCounts(now, limits.rate) : null;
  const running = new Map<string, number>();
  const picked: string[] = [];
  for (const candidate of candidates) {
    if (picked.length >= total) break;
    const { concurrencyKey: ck, rateKey: rk } = candidate;
    if ((candidate.concurrencyBlockedUntil ?? 0) > now || (candidate.rateKeyRow?.blockedUntil ?? 0) > now) continue;
    if (limits.concurrency !== null && ck !== null) {
      const count = running.get(ck) ?? candidate.running;
      if (count >= limits.concurrency) continue;
      running.set(ck, count + 1);
    }
    if (windows && rk !== null && !windows.take(rk, candidate.rateKeyRow)) continue;
    picked.push(candidate.id);
  }
  if (picked.length === 0) return [];
  await windows?.record(ctx, tx, name);

  const setParams: unknown[] = [filter.owner];
  const leaseNow = dialect.leaseNow(now, setParams);
  setParams.push(filter.leaseMs, now);
  const ids = dialect.inList('id', picked, setParams);
  const rows = await tx.query(
    `UPDATE ${t.steps} SET state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${leaseNow} + CAST(? AS BIGINT), attempts = attempts + 1, started_at = ?
     WHERE ${ids} AND state = 'pending' AND EXISTS (SELECT 1 FROM ${t.executions} e WHERE e.id = ${t.steps}.execution_id AND e.state IN ${ACTIVE})
     RETURNING ${STEP_READ.join(', ')}`,
    setParams,
  );
  const order = new Map(picked.map((id, index) => [id, index]));
  return rows.map(stepFromRow).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
}

/**
 * Due pending steps of the activity in rank order (round-robin over keys), with what deciding on them
 * needs in the same read: their key's running attempts, and its flow-key rows (window, parked until).
 * A key gets no more candidates than it has room for (and never more than `perKey`); within a key and
 * priority, steps of executions this worker holds come first (see ClaimFilter.preferHeld). Steps of executions
 * that ended meanwhile are left out by the claiming UPDATE (they are rare: an ending cancels its steps).
 */
async function candidatesByRank(ctx: SqlContext, tx: SqlExecutor, filter: ClaimFilter, name: string, limits: FlowClaimLimits, perKey: number): Promise<Candidate[]> {
  const ranked = rankedCandidates(ctx, filter, name, limits, perKey);
  const rows = await tx.query<Record<string, unknown>>(
    `${ranked.with}
     SELECT r.id, r.concurrency_key, r.rate_key, COALESCE(x.n, 0) AS running, kc.blocked_until AS c_blocked,
            kr.flow_key AS r_key, kr.window_start AS r_window, kr.used AS r_used, kr.blocked_until AS r_blocked
     ${ranked.from}
     ORDER BY ${ranked.order}`,
    ranked.params,
  );
  return rows.map((row) => ({
    id: String(row.id),
    concurrencyKey: strOrNull(row.concurrency_key),
    rateKey: strOrNull(row.rate_key),
    running: num(row.running),
    concurrencyBlockedUntil: numOrNull(row.c_blocked),
    rateKeyRow: row.r_key === null || row.r_key === undefined ? null : { windowStart: num(row.r_window), used: num(row.r_used), blockedUntil: numOrNull(row.r_blocked) },
  }));
}

/**
 * The ranked candidates' SQL: a WITH clause (running attempts per key, materialized: computed once, not
 * again for every candidate row, which PostgreSQL's planner chose on young tables whose statistics said
 * "one row"), the FROM ... WHERE part over aliases r (ranked steps), x (running per key), kc and kr
 * (flow-key rows of the concurrency and rate keys), and the rank order.
 */
function rankedCandidates(ctx: SqlContext, filter: ClaimFilter, name: string, limits: FlowClaimLimits, perKey: number): { with: string; from: string; order: string; params: unknown[] } {
  const { t, dialect } = ctx;
  const params: unknown[] = [];
  const runningPerKey = runningByKey(ctx, filter, name, params);
  let elsewhere = '0';
  if (filter.preferHeld) {
    elsewhere = `CASE WHEN (SELECT e.lease_owner FROM ${t.executions} e WHERE e.id = c.execution_id) = ? THEN 0 ELSE 1 END`;
    params.push(filter.owner);
  }
  params.push(name, filter.now);
  const queueClause = dialect.inList('c.queue', filter.queues, params);
  const tagClause = dialect.tagFilter(filter.tags, params, 'c.tags');
  // Keys already at their limit are left out before ranking, not after: under load most keys are full,
  // and ranking (a sort over every due step of the activity) is most of a claim's work.
  let full = '';
  if (limits.concurrency !== null) {
    full = 'AND (c.concurrency_key IS NULL OR c.concurrency_key NOT IN (SELECT x.k FROM x WHERE x.n >= ?))';
    params.push(limits.concurrency);
  }
  // So are rate keys with no room left in this window (or parked), as RateWindowCounts.take would find them:
  // with every window used and a backlog waiting, ranking it took 110 ms a claim on 50,000 steps.
  if (limits.rate !== null) {
    const windowStart = windowStartOf(filter.now, limits.rate);
    full += ` AND (c.rate_key IS NULL OR c.rate_key NOT IN (
         SELECT u.flow_key FROM ${t.flowKeys} u
         WHERE u.name = ? AND (u.window_start > ? OR (u.window_start = ? AND u.used >= ?) OR COALESCE(u.blocked_until, 0) > ?)))`;
    params.push(name, windowStart, windowStart, limits.rate.limit, filter.now);
  }
  params.push(name, name, Math.min(perKey, limits.concurrency ?? perKey));
  let room = '';
  if (limits.concurrency !== null) {
    room = 'AND (r.concurrency_key IS NULL OR r.rn + COALESCE(x.n, 0) <= ?)';
    params.push(limits.concurrency);
  }
  return {
    with: `WITH x AS MATERIALIZED (${runningPerKey})`,
    from: `FROM (
       SELECT q.*, ROW_NUMBER() OVER (PARTITION BY COALESCE(q.concurrency_key, q.rate_key, '') ORDER BY q.priority DESC, q.elsewhere, q.available_at, q.id) AS rn
       FROM (
         SELECT c.id, c.concurrency_key, c.rate_key, c.priority, c.available_at, ${elsewhere} AS elsewhere
         FROM ${t.steps} c
         WHERE c.state = 'pending' AND c.kind = 'activity' AND c.name = ? AND c.available_at <= ? AND ${queueClause} AND ${tagClause} ${full}
       ) q
     ) r
     LEFT JOIN x ON x.k = r.concurrency_key
     LEFT JOIN ${t.flowKeys} kc ON kc.name = ? AND kc.flow_key = r.concurrency_key
     LEFT JOIN ${t.flowKeys} kr ON kr.name = ? AND kr.flow_key = r.rate_key
     WHERE r.rn <= ? ${room}`,
    order: 'r.rn, r.priority DESC, r.elsewhere, r.available_at, r.id',
    params,
  };
}

/**
 * Per-key concurrency alone (no rate limit, no maxConcurrent): one statement after the lock, which reads
 * the keys with steps waiting (from the steps_flow_keyed index alone), keeps those with room (running
 * steps counted as in claimFlowLimited), reads the pending steps of those keys only, through that index,
 * keeps each key's first few, ranks them (every key's first step, then every key's second, ...) and takes
 * them. Ranking every due step of the activity instead cost several milliseconds a claim once a worker held
 * a thousand runs waiting on it, most of them on full keys. Steps without a key (recorded before the
 * activity had per-key concurrency) are not counted per key, as in claimFlowLimited.
 */
export async function claimKeyedOnly(ctx: SqlContext, tx: SqlExecutor, filter: ClaimFilter, name: string, limits: FlowClaimLimits, room: number): Promise<StepRecord[]> {
  const { t, dialect } = ctx;
  const limit = limits.concurrency!;
  const perKey = Math.min(room, limit);
  const params: unknown[] = [];
  const open = openKeys(ctx, filter, name, limit, params);
  /**
   * Steps of executions this worker holds first, among steps of equal priority (ClaimFilter.preferHeld):
   * decided among a key's first HELD_WINDOW pending steps, not only its first few, since runs are claimed
   * in batches and a key's oldest steps often all belong to runs another worker holds; and not among all
   * of them, which read every waiting step of the key, and its execution, at every claim.
   */
  const heldFirst = (alias: string): string => {
    // Nothing when not asked: a constant in an ORDER BY is read as a column's position.
    if (!filter.preferHeld) return '';
    params.push(filter.owner);
    return `CASE WHEN (SELECT e.lease_owner FROM ${t.executions} e WHERE e.id = ${alias}.execution_id) = ? THEN 0 ELSE 1 END, `;
  };
  /** The first pending steps of one key (or of none) in claim order, due and of this worker's queues and tags. */
  const firstSteps = (key: string): string => {
    params.push(name);
    const keyClause = key === 'NULL' ? 'w.concurrency_key IS NULL' : `w.concurrency_key = ${key}`;
    // `+w.available_at`: not a range to search by, so SQLite reads the key's steps through steps_flow_keyed.
    params.push(filter.now);
    const queueClause = dialect.inList('w.queue', filter.queues, params);
    const tagClause = dialect.tagFilter(filter.tags, params, 'w.tags');
    const inOrder = `SELECT w.id FROM ${t.steps} w WHERE w.name = ? AND ${keyClause} AND w.state = 'pending' AND w.kind = 'activity' AND +w.available_at <= ? AND ${queueClause} AND ${tagClause}
            ORDER BY w.priority DESC, w.available_at, w.id LIMIT`;
    if (!filter.preferHeld) {
      params.push(perKey);
      return `${inOrder} ?`;
    }
    const held = heldFirst('d');
    params.push(perKey);
    return `SELECT d.id FROM ${t.steps} d WHERE d.id IN (${inOrder} ${HELD_WINDOW}) ORDER BY d.priority DESC, ${held}d.available_at, d.id LIMIT ?`;
  };
  // Placeholders in the order they appear: each rank's held-first test before its branch's key read.
  const rankKeyed = `c.priority DESC, ${heldFirst('c')}c.available_at, c.id`;
  const keyed = firstSteps('o.k');
  const rankUnkeyed = `c.priority DESC, ${heldFirst('c')}c.available_at, c.id`;
  const unkeyed = firstSteps('NULL');
  params.push(perKey, room, filter.owner);
  const leaseNow = dialect.leaseNow(filter.now, params);
  params.push(filter.leaseMs, filter.now);
  const rows = await tx.query(
    `WITH RECURSIVE ${open},
     candidates AS MATERIALIZED (
       SELECT o.free, c.id, c.priority, c.available_at, ROW_NUMBER() OVER (PARTITION BY o.k ORDER BY ${rankKeyed}) AS rn
       FROM open o ${dialect.joinEach(t.steps, 'c', keyed)}
       UNION ALL
       SELECT ${perKey} AS free, c.id, c.priority, c.available_at, ROW_NUMBER() OVER (ORDER BY ${rankUnkeyed}) AS rn
       FROM ${t.steps} c WHERE c.id IN (${unkeyed})
     ),
     picked AS MATERIALIZED (
       SELECT id FROM candidates WHERE rn <= free AND rn <= ? ORDER BY rn, priority DESC, available_at, id LIMIT ?
     )
     UPDATE ${t.steps} SET state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${leaseNow} + CAST(? AS BIGINT), attempts = attempts + 1, started_at = ?
     WHERE id IN (SELECT id FROM picked) AND state = 'pending' AND EXISTS (SELECT 1 FROM ${t.executions} e WHERE e.id = ${t.steps}.execution_id AND e.state IN ${ACTIVE})
     RETURNING ${STEP_READ.join(', ')}`,
    params,
  );
  return rows.map(stepFromRow).sort((a, b) => b.priority - a.priority || a.availableAt - b.availableAt);
}

/**
 * Whether a claim of keyed-only activity `name` may find a step: a key with pending steps and room (as
 * claimKeyedOnly counts it), or a pending step without a key. A read without the activity's lock, so it
 * can be wrong only as a claim made at the same moment would be: a slot freed after it is announced as
 * any freed slot is, and asks for a claim round of its own. Most claim rounds of a busy keyed activity
 * find every key full (its slots go from step to step by hand-on and hand-off); this spares them the
 * transaction and the lock, which the other workers' claims of the activity wait for.
 */
export async function keyedRoom(ctx: SqlContext, filter: ClaimFilter, name: string, limits: FlowClaimLimits): Promise<boolean> {
  const params: unknown[] = [];
  const open = openKeys(ctx, filter, name, limits.concurrency!, params);
  params.push(name);
  // The look for a step without a key is ordered as steps_flow_keyed is, so that index serves it in any
  // plan: unordered, a plan made while the table was small read it through steps_flow_pending, every
  // waiting step of the activity at each read.
  const rows = await ctx.client.query(
    `WITH RECURSIVE ${open}
     SELECT 1 AS found FROM open
     UNION ALL SELECT 1 AS found FROM (
       SELECT d.id FROM ${ctx.t.steps} d WHERE d.name = ? AND d.concurrency_key IS NULL AND d.state = 'pending' AND d.kind = 'activity'
       ORDER BY d.name, d.concurrency_key LIMIT 1
     ) unkeyed
     LIMIT 1`,
    params,
  );
  return rows.length > 0;
}

/**
 * The WITH clauses w (the keys of `name` with pending steps, then a NULL), x (running bodies per key, see
 * runningByKey) and open (columns k, free: the keys with room under `limit`, not parked by a
 * RateLimitedError). w is recursive: the statement starts WITH RECURSIVE.
 */
function openKeys(ctx: SqlContext, filter: ClaimFilter, name: string, limit: number, params: unknown[]): string {
  const { steps } = ctx.t;
  // The keys with steps waiting, one index probe each (each finds the next key after the last one found),
  // not a read of every waiting step: a backlog of thousands on full keys made every claim round read all
  // of it (16 ms with 50,000 waiting on PostgreSQL, where each round should cost well under one). Past the
  // last key of `name` a probe finds another activity's step or nothing, and w ends with a NULL.
  // On PostgreSQL a probe asks for the next (name, key) pair among waiting steps with a key, which only
  // steps_flow_walk serves: stated with `kind = 'activity'` (implied: only activity steps carry a key),
  // steps_flow_pending could serve it too, and a plan made while the tables were small and never
  // analyzed read each probe through it (every waiting step of the activity, at each key). SQLite seeks
  // such a pair by its name alone, so there the name is an equality, which it serves from steps_flow_keyed.
  const postgres = ctx.dialect.name === 'postgres';
  const waiting = postgres ? `s.state = 'pending' AND s.concurrency_key IS NOT NULL` : `s.state = 'pending' AND s.kind = 'activity'`;
  const after = (op: string, value: string) => (postgres ? `(s.name, s.concurrency_key) ${op} (?, ${value})` : `s.name = ? AND s.concurrency_key ${op} ${value}`);
  const next = (op: string, value: string) => {
    params.push(name, name);
    return `SELECT CASE WHEN s.name = ? THEN s.concurrency_key END FROM ${steps} s
          WHERE ${waiting} AND ${after(op, value)}
          ORDER BY s.name, s.concurrency_key LIMIT 1`;
  };
  const keys = `w(k) AS (
       SELECT (${next('>=', "''")})
       UNION ALL
       SELECT (${next('>', 'w.k')}) FROM w WHERE w.k IS NOT NULL
     )`;
  const runningPerKey = runningByKey(ctx, filter, name, params);
  params.push(limit, name, limit, filter.now);
  return `${keys},
     x AS MATERIALIZED (${runningPerKey}),
     open AS MATERIALIZED (
       SELECT w.k, ? - COALESCE(x.n, 0) AS free
       FROM w
       LEFT JOIN x ON x.k = w.k
       LEFT JOIN ${ctx.t.flowKeys} kc ON kc.name = ? AND kc.flow_key = w.k
       WHERE w.k IS NOT NULL AND COALESCE(x.n, 0) < ? AND COALESCE(kc.blocked_until, 0) <= ?
     )`;
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

/**
 * The query of the running bodies of activity `name` per concurrency key (columns k, n): its running steps,
 * less the keyed steps whose bodies finished in this worker and whose slots it released
 * (ClaimFilter.finishedHere: their rows read running until their results are written), plus the bodies
 * of this worker that run on past their attempts' outcomes (ClaimFilter.runningPastOutcome).
 */
function runningByKey(ctx: SqlContext, filter: ClaimFilter, name: string, params: unknown[]): string {
  params.push(name);
  const finished = filter.finishedHere ?? [];
  let notFinished = '';
  if (finished.length > 0) {
    notFinished = `AND NOT (${ctx.dialect.inList('id', finished, params)} AND lease_owner = ?)`;
    params.push(filter.owner);
  }
  const rows = `SELECT concurrency_key AS k, COUNT(*) AS n FROM ${ctx.t.steps} WHERE name = ? AND state = 'running' AND concurrency_key IS NOT NULL ${notFinished} GROUP BY concurrency_key`;
  const past = (filter.runningPastOutcome ?? []).filter((body) => body.name === name);
  if (past.length === 0) return rows;
  const bodies = past.map((body) => {
    params.push(body.key);
    return 'SELECT CAST(? AS TEXT) AS k, 1 AS n';
  });
  return `SELECT k, SUM(n) AS n FROM (${rows} UNION ALL ${bodies.join(' UNION ALL ')}) b GROUP BY k`;
}
