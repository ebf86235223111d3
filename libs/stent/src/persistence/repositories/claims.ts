import { keyedOnly, type ClaimFilter, type ExecutionRecord, type OtherVersionRecord, type StepRecord } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { EXECUTION_READ, executionFromRow, num, STEP_CHANGING, STEP_READ, STEP_UNCHANGING, stepFromRow } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { listOf, type Dialect } from '../sql/dialect.js';
import { ACTIVE } from '../sql/statements.js';
import { claimFlowLimited, claimKeyedOnly, keyedRoom } from './flow-limits.js';
import { notPausedExecution, notPausedStep } from './pauses.js';
import { claimFlowLimitedExecutions, workflowFlowName } from './workflow-flow-limits.js';

/**
 * `column` in `values` for a claim: a single value (a worker's one queue, the usual case) as an equality
 * with a value the planner does not plan for (see Dialect.unplanned).
 */
function claimList(dialect: Dialect, column: string, values: readonly string[], params: unknown[]): string {
  if (values.length !== 1) return dialect.inList(column, values, params);
  params.push(values[0]);
  return `${column} = ${dialect.unplanned('?', 'text')}`;
}

/**
 * Claims: a worker takes due executions and pending activity steps under a lease (a new epoch each time),
 * in priority order, within its names, queues and tags, and within cluster-wide caps; nothing on a paused
 * queue, no execution of a paused workflow type.
 */
export class ClaimsRepository {
  constructor(private readonly ctx: SqlContext) {}

  async claimExecutions(filter: ClaimFilter): Promise<ExecutionRecord[]> {
    // Flow-limited workflows (per-key concurrency, start rate limits) are claimed only under their lock.
    const flow = filter.flow ?? new Map();
    const limitedNames = filter.names.filter((name) => flow.has(name));
    if (limitedNames.length === 0) return this.claimExecutionBatch(filter, filter.names);
    const plain = filter.names.filter((name) => !flow.has(name));
    const claimed = plain.length > 0 ? await this.claimExecutionBatch(filter, plain) : [];
    const { client, dialect } = this.ctx;
    const versions = filter.versions ?? new Map();
    const fragments = { replayable: (params: unknown[]) => this.replayable(versions, params), stampVersion: (params: unknown[]) => this.stampVersion(versions, params) };
    for (const name of limitedNames) {
      const room = filter.limit - claimed.length;
      if (room <= 0) break;
      claimed.push(
        ...(await client.transaction(async (tx) => {
          await dialect.lockCap(tx, workflowFlowName(name), this.ctx.t.schema);
          return claimFlowLimitedExecutions(this.ctx, tx, filter, name, flow.get(name)!, room, fragments);
        })),
      );
    }
    return claimed;
  }

  private async claimExecutionBatch(filter: ClaimFilter, workflowNames: string[]): Promise<ExecutionRecord[]> {
    const { t, dialect, client } = this.ctx;
    const params: unknown[] = [filter.now];
    const names = claimList(dialect, 'c.workflow_name', workflowNames, params);
    const queues = claimList(dialect, 'c.queue', filter.queues, params);
    const tags = dialect.tagFilter(filter.tags, params, 'c.tags');
    const versions = filter.versions ?? new Map();
    const replayable = this.replayable(versions, params);
    const setParams: unknown[] = [filter.owner];
    const leaseNow = dialect.leaseNow(filter.now, setParams);
    setParams.push(filter.leaseMs, filter.now, filter.now);
    const rows = await dialect.claimRows(
      client,
      t.executions,
      EXECUTION_READ,
      {
        sql: `state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${leaseNow} + CAST(? AS BIGINT), wake_at = NULL, started_at = COALESCE(started_at, ?), updated_at = ?${this.stampVersion(versions, setParams)}`,
        params: setParams,
      },
      {
        sql: `c.lease_owner IS NULL AND c.wake_at IS NOT NULL AND c.wake_at <= ${dialect.unplanned('?', 'bigint')} AND c.state IN ${ACTIVE} AND ${names} AND ${queues} AND ${tags} AND ${replayable} AND ${notPausedExecution(t.pauses, 'c')}`,
        params,
      },
      'c.priority DESC, c.wake_at',
      filter.limit,
    );
    // RETURNING gives rows in storage order; start them in claim order.
    return rows.map(executionFromRow).sort((a, b) => b.priority - a.priority || a.createdAt - b.createdAt);
  }

  /** Executions whose version the claiming worker can replay: unversioned, not started yet, or in its range. */
  private replayable(versions: Map<string, { from: number; to: number }>, params: unknown[]): string {
    if (versions.size === 0) return 'true';
    const names = [...versions.keys()];
    const versioned = this.ctx.dialect.inList('c.workflow_name', names, params);
    const ranges = names.map((name) => {
      const range = versions.get(name)!;
      params.push(name, range.from, range.to);
      return '(c.workflow_name = ? AND c.workflow_version BETWEEN CAST(? AS INTEGER) AND CAST(? AS INTEGER))';
    });
    return `(c.workflow_version IS NULL OR NOT ${versioned} OR ${ranges.join(' OR ')})`;
  }

  /** The first claim of an execution records the version of the code that starts it. */
  private stampVersion(versions: Map<string, { from: number; to: number }>, params: unknown[]): string {
    if (versions.size === 0) return '';
    const cases = [...versions].map(([name, range]) => {
      params.push(name, range.to);
      return 'WHEN ? THEN CAST(? AS INTEGER)';
    });
    return `, workflow_version = CASE WHEN workflow_version IS NULL AND started_at IS NULL THEN CASE workflow_name ${cases.join(' ')} ELSE NULL END ELSE workflow_version END`;
  }

  /** Due executions of versioned workflows this worker serves whose version lies outside what it replays. */
  async otherVersionsDue(filter: ClaimFilter): Promise<OtherVersionRecord[]> {
    const { t, dialect, client } = this.ctx;
    const versions = filter.versions ?? new Map();
    if (versions.size === 0) return [];
    const params: unknown[] = [filter.now];
    const queues = dialect.inList('c.queue', filter.queues, params);
    const replayable = this.replayable(versions, params);
    const versioned = dialect.inList('c.workflow_name', [...versions.keys()], params);
    const rows = await client.query<{ workflow_name: string; workflow_version: unknown; n: unknown }>(
      `SELECT c.workflow_name, c.workflow_version, COUNT(*) AS n FROM ${t.executions} c
       WHERE c.lease_owner IS NULL AND c.wake_at IS NOT NULL AND c.wake_at <= ? AND c.state IN ${ACTIVE} AND ${queues}
         AND NOT ${replayable} AND ${versioned}
       GROUP BY c.workflow_name, c.workflow_version ORDER BY c.workflow_name, c.workflow_version`,
      params,
    );
    return rows.map((row) => ({ workflowName: String(row.workflow_name), version: num(row.workflow_version), due: num(row.n) }));
  }

  async claimSteps(filter: ClaimFilter): Promise<StepRecord[]> {
    const { client, dialect, t } = this.ctx;
    // Flow-limited activities (per-key concurrency, rate limits) are claimed only by claimFlowLimited,
    // recovered steps included: no other path may start one outside its limits.
    const flow = filter.flow ?? new Map();
    const plain = filter.names.filter((name) => !flow.has(name));
    const unlimited = plain.filter((name) => !filter.limits.has(name));
    const limited = plain.filter((name) => filter.limits.has(name));
    if (filter.suspect) return plain.length > 0 ? this.claimStepBatch(client, filter, plain, 1, 'suspect') : [];
    const open = filter.keyedOpen ?? (await this.keyedRoom(filter));
    const flowNames = filter.names.filter((name) => {
      const limits = flow.get(name);
      return limits !== undefined && (!keyedOnly(limits) || open.includes(name));
    });
    if (limited.length === 0 && flowNames.length === 0 && (!filter.strays || unlimited.length === 0)) return unlimited.length > 0 ? this.claimStepBatch(client, filter, unlimited, filter.limit, 'unlimited') : [];
    return client.transaction(async (tx) => {
      const claimed: StepRecord[] = [];
      if (unlimited.length > 0) {
        claimed.push(...(await this.claimWithStrays(tx, filter, unlimited, filter.limit, 'unlimited')));
      }
      for (const name of limited) {
        const room = filter.limit - claimed.length;
        if (room <= 0) break;
        await dialect.lockCap(tx, name, t.schema);
        const [running] = await tx.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${t.steps} WHERE name = ? AND state = 'running'`, [name]);
        const free = filter.limits.get(name)! - num(running?.n ?? 0);
        if (free <= 0) continue;
        claimed.push(...(await this.claimWithStrays(tx, filter, [name], Math.min(room, free), 'limited')));
      }
      for (const name of flowNames) {
        const room = filter.limit - claimed.length;
        if (room <= 0) break;
        await dialect.lockCap(tx, name, t.schema);
        const limits = flow.get(name)!;
        claimed.push(...(await (keyedOnly(limits) ? claimKeyedOnly : claimFlowLimited)(this.ctx, tx, filter, name, limits, room)));
      }
      return claimed;
    });
  }

  /** See HotPathStore.keyedRoom: one read per keyed-only activity the filter serves, none for the others. */
  async keyedRoom(filter: ClaimFilter): Promise<string[]> {
    const open: string[] = [];
    for (const [name, limits] of filter.flow ?? []) {
      if (keyedOnly(limits) && filter.names.includes(name) && (await keyedRoom(this.ctx, filter, name, limits))) open.push(name);
    }
    return open;
  }

  /**
   * Claims pending activity steps. Steps that were running when a worker died ("suspects") are claimed
   * only one at a time by an idle worker, so a step that crashes its worker is blamed alone.
   *
   * Steps with a flow key (per-key concurrency or rate limit) are left to the claims by activity and key,
   * and are not in the claim-order index, so a backlog of them costs these claims nothing. `strays` claims
   * only such steps instead: of activities served here without flow limits, recorded while they had them
   * (see ClaimFilter.strays). Suspects are claimed whatever their keys, as hasSuspects finds them.
   *
   * Whether a step's execution is still active is asked per candidate by a scalar subquery, not an
   * EXISTS: PostgreSQL turns an EXISTS into a semi-join and, with a large history, puts a Memoize node in
   * it whose hash table is sized (and set up, at every execution) by the estimate of candidate rows, so
   * a claim that finds nothing cost several times more on a big database than on an empty one.
   *
   * On SQLite the claim reads back only the columns that change after an insert; the rest of each record
   * is the call this store inserted (InsertedCalls), or else read by id after the claim.
   */
  private async claimStepBatch(
    executor: SqlExecutor,
    filter: ClaimFilter,
    names: string[],
    limit: number,
    kind: 'unlimited' | 'limited' | 'suspect',
    strays = false,
  ): Promise<StepRecord[]> {
    const { t, dialect } = this.ctx;
    const params: unknown[] = [filter.now];
    const nameClause = claimList(dialect, 'c.name', names, params);
    const queueClause = claimList(dialect, 'c.queue', filter.queues, params);
    const tagClause = dialect.tagFilter(filter.tags, params, 'c.tags');
    const keys = strays ? '(c.concurrency_key IS NOT NULL OR c.rate_key IS NOT NULL)' : 'c.concurrency_key IS NULL AND c.rate_key IS NULL';
    const extra =
      kind === 'suspect' ? 'AND c.recoveries > 0' : kind === 'unlimited' ? `AND c.max_concurrent IS NULL AND c.recoveries = 0 AND ${keys}` : `AND c.recoveries = 0 AND ${keys}`;
    const setParams: unknown[] = [filter.owner];
    const leaseNow = dialect.leaseNow(filter.now, setParams);
    setParams.push(filter.leaseMs, filter.now);
    const inserted = this.ctx.insertedCalls;
    const rows = await dialect.claimRows(
      executor,
      t.steps,
      inserted ? STEP_CHANGING : STEP_READ,
      {
        sql: `state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${leaseNow} + CAST(? AS BIGINT), attempts = attempts + 1, started_at = ?`,
        params: setParams,
      },
      {
        sql: `c.state = 'pending' AND c.kind = 'activity' AND c.available_at <= ${dialect.unplanned('?', 'bigint')} AND ${nameClause} AND ${queueClause} AND ${tagClause} ${extra}
              AND (SELECT e.state FROM ${t.executions} e WHERE e.id = c.execution_id) IN ${ACTIVE} AND ${notPausedStep(t.pauses, 'c')}`,
        params,
      },
      'c.priority DESC, c.available_at',
      limit,
    );
    const records = inserted
      ? await inserted.records(rows, (ids) => {
          const readParams: unknown[] = [];
          return executor.query(`SELECT ${listOf(STEP_UNCHANGING)} FROM ${t.steps} WHERE ${dialect.inList('id', ids, readParams)}`, readParams);
        })
      : rows.map(stepFromRow);
    return records.sort((a, b) => b.priority - a.priority || a.availableAt - b.availableAt);
  }

  /** claimStepBatch, then (with `filter.strays`) the stray steps of the same activities in the room left. */
  private async claimWithStrays(executor: SqlExecutor, filter: ClaimFilter, names: string[], limit: number, kind: 'unlimited' | 'limited'): Promise<StepRecord[]> {
    const claimed = await this.claimStepBatch(executor, filter, names, limit, kind);
    if (filter.strays && claimed.length < limit) claimed.push(...(await this.claimStepBatch(executor, filter, names, limit - claimed.length, kind, true)));
    return claimed;
  }

  /** Whether steps recovered from a dead worker wait to be run alone. */
  async hasSuspects(filter: ClaimFilter): Promise<boolean> {
    const { t, dialect, client } = this.ctx;
    const params: unknown[] = [filter.now];
    const nameClause = dialect.inList('name', filter.names.filter((name) => !filter.flow?.has(name)), params);
    const queueClause = dialect.inList('queue', filter.queues, params);
    const rows = await client.query(
      `SELECT 1 AS found FROM ${t.steps} s WHERE state = 'pending' AND kind = 'activity' AND recoveries > 0 AND available_at <= ? AND ${nameClause} AND ${queueClause} AND ${notPausedStep(t.pauses, 's')} LIMIT 1`,
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
