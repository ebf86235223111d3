import type { ClaimFilter, ExecutionRecord, StepRecord } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { EXECUTION_READ, executionFromRow, num, STEP_READ, stepFromRow } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE } from '../sql/statements.js';
import { claimFlowLimited } from './flow-limits.js';

/**
 * Claims: a worker takes due executions and pending activity steps under a lease (a new epoch each time),
 * in priority order, within its names, queues and tags, and within cluster-wide caps.
 */
export class ClaimsRepository {
  constructor(private readonly ctx: SqlContext) {}

  async claimExecutions(filter: ClaimFilter): Promise<ExecutionRecord[]> {
    const { t, dialect, client } = this.ctx;
    const params: unknown[] = [filter.now];
    const names = dialect.inList('c.workflow_name', filter.names, params);
    const queues = dialect.inList('c.queue', filter.queues, params);
    const tags = dialect.tagFilter(filter.tags, params, 'c.tags');
    const setParams: unknown[] = [filter.owner];
    const leaseNow = dialect.leaseNow(filter.now, setParams);
    setParams.push(filter.leaseMs, filter.now, filter.now);
    const rows = await dialect.claimRows(
      client,
      t.executions,
      EXECUTION_READ,
      {
        sql: `state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${leaseNow} + CAST(? AS BIGINT), wake_at = NULL, started_at = COALESCE(started_at, ?), updated_at = ?`,
        params: setParams,
      },
      {
        sql: `c.lease_owner IS NULL AND c.wake_at IS NOT NULL AND c.wake_at <= ? AND c.state IN ${ACTIVE} AND ${names} AND ${queues} AND ${tags}`,
        params,
      },
      'c.priority DESC, c.wake_at',
      filter.limit,
    );
    // RETURNING gives rows in storage order; start them in claim order.
    return rows.map(executionFromRow).sort((a, b) => b.priority - a.priority || a.createdAt - b.createdAt);
  }

  async claimSteps(filter: ClaimFilter): Promise<StepRecord[]> {
    const { client, dialect, t } = this.ctx;
    // Flow-limited activities (per-key concurrency, rate limits) are claimed only by claimFlowLimited,
    // recovered steps included: no other path may start one outside its limits.
    const flow = filter.flow ?? new Map();
    const plain = filter.names.filter((name) => !flow.has(name));
    const unlimited = plain.filter((name) => !filter.limits.has(name));
    const limited = plain.filter((name) => filter.limits.has(name));
    const flowNames = filter.names.filter((name) => flow.has(name));
    if (filter.suspect) return plain.length > 0 ? this.claimStepBatch(client, filter, plain, 1, 'suspect') : [];
    if (limited.length === 0 && flowNames.length === 0) return this.claimStepBatch(client, filter, unlimited, filter.limit, 'unlimited');
    return client.transaction(async (tx) => {
      const claimed: StepRecord[] = [];
      if (unlimited.length > 0) {
        claimed.push(...(await this.claimStepBatch(tx, filter, unlimited, filter.limit, 'unlimited')));
      }
      for (const name of limited) {
        const room = filter.limit - claimed.length;
        if (room <= 0) break;
        await dialect.lockCap(tx, name);
        const [running] = await tx.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${t.steps} WHERE name = ? AND state = 'running'`, [name]);
        const free = filter.limits.get(name)! - num(running?.n ?? 0);
        if (free <= 0) continue;
        claimed.push(...(await this.claimStepBatch(tx, filter, [name], Math.min(room, free), 'limited')));
      }
      for (const name of flowNames) {
        const room = filter.limit - claimed.length;
        if (room <= 0) break;
        await dialect.lockCap(tx, name);
        claimed.push(...(await claimFlowLimited(this.ctx, tx, filter, name, flow.get(name)!, room)));
      }
      return claimed;
    });
  }

  /**
   * Claims pending activity steps. Steps that were running when a worker died ("suspects") are claimed
   * only one at a time by an idle worker, so a step that crashes its worker is blamed alone.
   */
  private async claimStepBatch(
    executor: SqlExecutor,
    filter: ClaimFilter,
    names: string[],
    limit: number,
    kind: 'unlimited' | 'limited' | 'suspect',
  ): Promise<StepRecord[]> {
    const { t, dialect } = this.ctx;
    const params: unknown[] = [filter.now];
    const nameClause = dialect.inList('c.name', names, params);
    const queueClause = dialect.inList('c.queue', filter.queues, params);
    const tagClause = dialect.tagFilter(filter.tags, params, 'c.tags');
    const extra =
      kind === 'suspect' ? 'AND c.recoveries > 0' : kind === 'unlimited' ? 'AND c.max_concurrent IS NULL AND c.recoveries = 0' : 'AND c.recoveries = 0';
    const setParams: unknown[] = [filter.owner];
    const leaseNow = dialect.leaseNow(filter.now, setParams);
    setParams.push(filter.leaseMs, filter.now);
    const rows = await dialect.claimRows(
      executor,
      t.steps,
      STEP_READ,
      {
        sql: `state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${leaseNow} + CAST(? AS BIGINT), attempts = attempts + 1, started_at = ?`,
        params: setParams,
      },
      {
        sql: `c.state = 'pending' AND c.kind = 'activity' AND c.available_at <= ? AND ${nameClause} AND ${queueClause} AND ${tagClause} ${extra}
              AND EXISTS (SELECT 1 FROM ${t.executions} e WHERE e.id = c.execution_id AND e.state IN ${ACTIVE})`,
        params,
      },
      'c.priority DESC, c.available_at',
      limit,
    );
    return rows.map(stepFromRow).sort((a, b) => b.priority - a.priority || a.availableAt - b.availableAt);
  }

  /** Whether steps recovered from a dead worker wait to be run alone. */
  async hasSuspects(filter: ClaimFilter): Promise<boolean> {
    const { t, dialect, client } = this.ctx;
    const params: unknown[] = [filter.now];
    const nameClause = dialect.inList('name', filter.names.filter((name) => !filter.flow?.has(name)), params);
    const queueClause = dialect.inList('queue', filter.queues, params);
    const rows = await client.query(
      `SELECT 1 AS found FROM ${t.steps} WHERE state = 'pending' AND kind = 'activity' AND recoveries > 0 AND available_at <= ? AND ${nameClause} AND ${queueClause} LIMIT 1`,
      params,
    );
    return rows.length > 0;
  }

  /** Executions this owner holds whose wake time has come (something changed for them). */
  async takeWokenExecutions(owner: string, now: number): Promise<Array<{ id: string; epoch: number }>> {
    const rows = await this.ctx.client.query<{ id: string; lease_epoch: unknown }>(
      `UPDATE ${this.ctx.t.executions} SET wake_at = NULL
       WHERE lease_owner = ? AND wake_at IS NOT NULL AND wake_at <= ? AND state IN ${ACTIVE}
       RETURNING id, lease_epoch`,
      [owner, now],
    );
    return rows.map((row) => ({ id: String(row.id), epoch: num(row.lease_epoch) }));
  }
}
