import type { ClaimFilter, ExecutionRecord, FlowClaimLimits } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { EXECUTION_READ, executionFromRow, num } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE } from '../sql/statements.js';
import { notPausedExecution } from './pauses.js';
import { RateWindowCounts, type WindowRow } from './rate-windows.js';

/**
 * The name a workflow's rows in the flow-keys table (and its claim lock) go by: apart from an activity
 * that happens to have the workflow's name.
 */
export function workflowFlowName(workflowName: string): string {
  return `workflow:${workflowName}`;
}

/** Fragments the execution claim builds for versioned workflows (see ClaimsRepository). */
export interface VersionFragments {
  replayable(params: unknown[]): string;
  stampVersion(params: unknown[]): string;
}

interface Candidate {
  id: string;
  concurrencyKey: string;
  rateKey: string;
  /** Not started yet: its claim is a start, which the rate limit counts (a resume is not). */
  fresh: boolean;
  running: number;
  rateRow: WindowRow | null;
}

/**
 * Claims executions of a workflow with per-key concurrency or a start rate limit. The caller's transaction
 * holds the workflow's lock (Dialect.lockCap), so counting the executions that hold a worker per key,
 * reading each key's window and taking executions is one decision no other claimer interleaves with.
 *
 * An execution holds a slot of its key while it is leased: claimed and running its code, or waiting in
 * the memory of its worker. A suspended one (lease given back, waiting on a sleep, signal or step) holds
 * none, and needs a free slot to resume; resumes come before first starts of the same key, so work that
 * began finishes before more begins. Executions dispatched without keys (by a process without the class)
 * count under the key ''. Keys take turns as for activities (rank by rank); windows are fixed.
 */
export async function claimFlowLimitedExecutions(
  ctx: SqlContext,
  tx: SqlExecutor,
  filter: ClaimFilter,
  workflowName: string,
  limits: FlowClaimLimits,
  room: number,
  versions: VersionFragments,
): Promise<ExecutionRecord[]> {
  const { t, dialect } = ctx;
  const now = filter.now;
  const flowName = workflowFlowName(workflowName);
  const candidates = await candidatesByRank(ctx, tx, filter, workflowName, flowName, limits, room, versions);
  if (candidates.length === 0) return [];

  const windows = limits.rate ? new RateWindowCounts(now, limits.rate) : null;
  const running = new Map<string, number>();
  const picked: Candidate[] = [];
  for (const candidate of candidates) {
    if (picked.length >= room) break;
    if (limits.concurrency !== null) {
      const count = running.get(candidate.concurrencyKey) ?? candidate.running;
      if (count >= limits.concurrency) continue;
      running.set(candidate.concurrencyKey, count + 1);
    }
    // A resume is not a start: only first starts count in a rate window.
    if (windows && candidate.fresh && !windows.take(candidate.rateKey, candidate.rateRow)) continue;
    picked.push(candidate);
  }
  if (picked.length === 0) return [];

  const setParams: unknown[] = [filter.owner];
  const leaseNow = dialect.leaseNow(now, setParams);
  setParams.push(filter.leaseMs, now, now);
  const stamp = versions.stampVersion(setParams);
  const ids = dialect.inList('id', picked.map((candidate) => candidate.id), setParams);
  const rows = await tx.query(
    `UPDATE ${t.executions} SET state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${leaseNow} + CAST(? AS BIGINT),
       wake_at = NULL, started_at = COALESCE(started_at, ?), updated_at = ?${stamp}
     WHERE ${ids} AND lease_owner IS NULL AND wake_at IS NOT NULL AND state IN ${ACTIVE}
     RETURNING ${EXECUTION_READ.join(', ')}`,
    setParams,
  );
  const claimed = rows.map(executionFromRow);

  if (windows) {
    // Only starts that happened count in their key's window (an execution cancelled meanwhile is not one).
    const started = new RateWindowCounts(now, limits.rate!);
    const byId = new Map(picked.map((candidate) => [candidate.id, candidate]));
    for (const execution of claimed) {
      const candidate = byId.get(execution.id);
      if (candidate?.fresh) started.count(candidate.rateKey, candidate.rateRow);
    }
    await started.record(ctx, tx, flowName);
  }
  return claimed.sort((a, b) => b.priority - a.priority || a.createdAt - b.createdAt);
}

/**
 * Due executions of the workflow in rank order (round-robin over keys; within a key resumes first, then
 * by priority and due time), with the count of its key's executions holding a worker and its key's rate
 * window. A key gets no more candidates than it has room for.
 */
async function candidatesByRank(
  ctx: SqlContext,
  tx: SqlExecutor,
  filter: ClaimFilter,
  workflowName: string,
  flowName: string,
  limits: FlowClaimLimits,
  perKey: number,
  versions: VersionFragments,
): Promise<Candidate[]> {
  const { t, dialect } = ctx;
  const params: unknown[] = [];
  let held = '';
  let heldJoin = '';
  if (limits.concurrency !== null) {
    // Materialized: computed once, not for every candidate row (see claimFlowLimited for activities).
    held = `WITH x AS MATERIALIZED (
       SELECT COALESCE(concurrency_key, '') AS k, COUNT(*) AS n FROM ${t.executions}
       WHERE workflow_name = ? AND lease_owner IS NOT NULL AND state IN ${ACTIVE} GROUP BY COALESCE(concurrency_key, '')
     )`;
    params.push(workflowName);
    heldJoin = 'LEFT JOIN x ON x.k = r.ck';
  }
  params.push(workflowName, filter.now);
  const queueClause = dialect.inList('c.queue', filter.queues, params);
  const tagClause = dialect.tagFilter(filter.tags, params, 'c.tags');
  const replayable = versions.replayable(params);
  let rateJoin = '';
  if (limits.rate !== null) {
    rateJoin = `LEFT JOIN ${t.flowKeys} kr ON kr.name = ? AND kr.flow_key = r.rk`;
    params.push(flowName);
  }
  params.push(Math.min(perKey, limits.concurrency ?? perKey));
  let room = '';
  if (limits.concurrency !== null) {
    room = 'AND r.rn + COALESCE(x.n, 0) <= ?';
    params.push(limits.concurrency);
  }
  const partition = limits.concurrency !== null ? 'q.ck' : 'q.rk';
  const rows = await tx.query<Record<string, unknown>>(
    `${held}
     SELECT r.id, r.ck, r.rk, r.fresh, ${limits.concurrency !== null ? 'COALESCE(x.n, 0)' : '0'} AS running,
            ${limits.rate !== null ? 'kr.flow_key AS r_key, kr.window_start AS r_window, kr.used AS r_used' : 'NULL AS r_key, NULL AS r_window, NULL AS r_used'}
     FROM (
       SELECT q.*, ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY q.fresh, q.priority DESC, q.wake_at, q.id) AS rn
       FROM (
         SELECT c.id, COALESCE(c.concurrency_key, '') AS ck, COALESCE(c.rate_key, '') AS rk, CASE WHEN c.started_at IS NULL THEN 1 ELSE 0 END AS fresh,
                c.priority, c.wake_at
         FROM ${t.executions} c
         WHERE c.workflow_name = ? AND c.lease_owner IS NULL AND c.wake_at IS NOT NULL AND c.wake_at <= ? AND c.state IN ${ACTIVE}
           AND ${queueClause} AND ${tagClause} AND ${replayable} AND ${notPausedExecution(t.pauses, 'c')}
       ) q
     ) r
     ${heldJoin}
     ${rateJoin}
     WHERE r.rn <= ? ${room}
     ORDER BY r.rn, r.fresh, r.priority DESC, r.wake_at, r.id`,
    params,
  );
  return rows.map((row) => ({
    id: String(row.id),
    concurrencyKey: String(row.ck),
    rateKey: String(row.rk),
    fresh: num(row.fresh) === 1,
    running: num(row.running),
    rateRow: row.r_key === null || row.r_key === undefined ? null : { windowStart: num(row.r_window), used: num(row.r_used ?? 0) },
  }));
}
