import { randomUUID } from 'node:crypto';
import { ConfigurationError, DeadLetterNotFoundError, encodeError, ExecutionExistsError, ExecutionFinishedError, ExecutionNotFoundError, IdempotencyConflictError, StentError, WorkflowCancelledError, type RetryPolicy } from '../core/index.js';
import type {
  ClaimFilter,
  DeadLetterRecord,
  ExecutionFence,
  ExecutionFilter,
  ExecutionRecord,
  ExternalTransaction,
  NewExecution,
  NewStep,
  Page,
  ReapResult,
  StentStore,
  StepCompletion,
  StepRecord,
  StepEffect,
  StoreStats,
  DeliveryRecord,
  FinishOptions,
  LocalCompletion,
  WakeEvent,
  ExecutionState,
} from '../core/index.js';
import type { SqlClient, SqlExecutor } from './clients/sql-client.js';
import { externalExecutor } from './clients/postgres-client.js';
import type { WakeBus } from './wake-bus.js';
import type { TableNames } from './table-names.js';
import { tagMatch } from './tag-match.js';

type Row = Record<string, unknown>;

const ACTIVE = `('pending', 'running')`;
const STEP_COLUMNS = [
  'id',
  'execution_id',
  'position',
  'kind',
  'name',
  'args',
  'state',
  'result',
  'error',
  'attempts',
  'retry_policy',
  'timeout_ms',
  'queue',
  'priority',
  'tags',
  'max_concurrent',
  'available_at',
  'fire_at',
  'lease_owner',
  'lease_epoch',
  'lease_expires_at',
  'created_at',
  'started_at',
  'child_execution_id',
  'call_turn',
] as const;
/** PostgreSQL types of STEP_COLUMNS, for typed VALUES lists. */
const STEP_COLUMN_TYPES = [
  'varchar', 'varchar', 'integer', 'varchar', 'varchar', 'text', 'varchar', 'text', 'text', 'integer', 'text', 'integer',
  'varchar', 'integer', 'text', 'integer', 'bigint', 'bigint', 'varchar', 'integer', 'bigint', 'bigint', 'bigint', 'varchar', 'integer',
] as const;
const INSERT_CHUNK = Math.floor(30_000 / STEP_COLUMNS.length);
/** Columns read back (named, not `*`, so a prepared statement's result type survives a migration that adds columns). */
const EXECUTION_READ = [
  'id', 'workflow_name', 'state', 'args', 'result', 'error', 'queue', 'priority', 'tags', 'parent_id', 'parent_position', 'idempotency_key',
  'created_at', 'updated_at', 'started_at', 'finished_at', 'deadline_at', 'max_duration_ms', 'wake_at', 'lease_owner', 'lease_epoch',
  'lease_expires_at', 'recoveries', 'progress', 'counters', 'custom_state', 'revive_position',
];
const STEP_READ = [...STEP_COLUMNS, 'recoveries', 'finished_at', 'delivered_turn', 'delivered_seq', 'tentative'];
const listOf = (columns: readonly string[], alias?: string): string => columns.map((column) => (alias ? `${alias}.${column}` : column)).join(', ');

const num = (value: unknown): number => (typeof value === 'number' ? value : Number(value));
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : num(value));
const strOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

function executionFromRow(row: Row): ExecutionRecord {
  return {
    id: String(row.id),
    workflowName: String(row.workflow_name),
    state: row.state as ExecutionRecord['state'],
    args: String(row.args),
    result: strOrNull(row.result),
    error: strOrNull(row.error),
    queue: String(row.queue),
    priority: num(row.priority),
    tags: JSON.parse(String(row.tags ?? '[]')) as string[],
    parentId: strOrNull(row.parent_id),
    parentPosition: numOrNull(row.parent_position),
    idempotencyKey: strOrNull(row.idempotency_key),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
    deadlineAt: numOrNull(row.deadline_at),
    maxDurationMs: numOrNull(row.max_duration_ms),
    wakeAt: numOrNull(row.wake_at),
    leaseOwner: strOrNull(row.lease_owner),
    leaseEpoch: num(row.lease_epoch),
    leaseExpiresAt: numOrNull(row.lease_expires_at),
    recoveries: num(row.recoveries),
    progress: strOrNull(row.progress),
    counters: strOrNull(row.counters),
    customState: strOrNull(row.custom_state),
    revivePosition: numOrNull(row.revive_position),
  };
}

function stepFromRow(row: Row): StepRecord {
  return {
    id: String(row.id),
    executionId: String(row.execution_id),
    position: num(row.position),
    kind: row.kind as StepRecord['kind'],
    name: String(row.name),
    args: strOrNull(row.args),
    state: row.state as StepRecord['state'],
    result: strOrNull(row.result),
    error: strOrNull(row.error),
    attempts: num(row.attempts),
    retryPolicy: row.retry_policy ? (JSON.parse(String(row.retry_policy)) as RetryPolicy) : null,
    timeoutMs: numOrNull(row.timeout_ms),
    queue: String(row.queue),
    priority: num(row.priority),
    tags: JSON.parse(String(row.tags ?? '[]')) as string[],
    maxConcurrent: numOrNull(row.max_concurrent),
    availableAt: num(row.available_at),
    fireAt: numOrNull(row.fire_at),
    leaseOwner: strOrNull(row.lease_owner),
    leaseEpoch: num(row.lease_epoch),
    leaseExpiresAt: numOrNull(row.lease_expires_at),
    recoveries: num(row.recoveries),
    createdAt: num(row.created_at),
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
    childExecutionId: strOrNull(row.child_execution_id),
    callTurn: num(row.call_turn ?? 0),
    deliveredTurn: numOrNull(row.delivered_turn),
    deliveredSeq: numOrNull(row.delivered_seq),
    tentative: num(row.tentative ?? 0) === 1,
  };
}

function deadLetterFromRow(row: Row): DeadLetterRecord {
  return {
    id: String(row.id),
    stepId: strOrNull(row.step_id),
    executionId: String(row.execution_id),
    kind: String(row.kind),
    name: String(row.name),
    args: strOrNull(row.args),
    error: strOrNull(row.error),
    attempts: num(row.attempts),
    reason: String(row.reason),
    createdAt: num(row.created_at),
  };
}

export interface SqlStoreOptions {
  client: SqlClient;
  tables: TableNames;
  bus: WakeBus;
  migrate: () => Promise<void>;
  /** Extra clean-up when the store closes (the DataSource it owns, a listener connection). */
  onClose?: () => Promise<void>;
}

/**
 * The engine's storage on SQL, shared by SQLite and PostgreSQL. Every write a worker makes for
 * something it claimed names the lease owner and epoch it holds, so a worker that lost its lease
 * changes nothing.
 */
export class SqlStore implements StentStore {
  readonly dialect: string;
  private readonly client: SqlClient;
  private readonly t: TableNames;
  private readonly bus: WakeBus;
  private closed = false;
  /** Executions woken inside the transaction being committed; announced once it commits. */
  private pendingWakes: string[] = [];
  private insertQueue: Array<{ fence: ExecutionFence; steps: NewStep[]; completions: LocalCompletion[]; resolve(ok: boolean): void; reject(error: unknown): void }> = [];
  private insertFlushing = false;

  constructor(private readonly options: SqlStoreOptions) {
    this.client = options.client;
    this.dialect = options.client.dialect;
    this.t = options.tables;
    this.bus = options.bus;
  }

  private get pg(): boolean {
    return this.client.dialect === 'postgres';
  }

  /**
   * `column IN (...)` for a list of values, as one statement text whatever the list's length (an array on
   * PostgreSQL, a JSON array on SQLite), so lists of every size share one prepared statement.
   */
  private inList(column: string, values: readonly unknown[], params: unknown[]): string {
    if (values.length === 0) return '1 = 0';
    if (this.pg) {
      params.push(values);
      return `${column} = ANY(?)`;
    }
    if (values.length === 1) {
      params.push(values[0]);
      return `${column} = ?`;
    }
    params.push(JSON.stringify(values));
    return `${column} IN (SELECT value FROM json_each(?))`;
  }

  /** Tasks carrying at least one of the worker's tags, exactly (no filter when it has none). */
  private tagFilter(tags: string[], params: unknown[], column = 'tags'): string {
    return tagMatch(this.client.dialect, column, tags, params);
  }

  private get skipLocked(): string {
    return this.pg ? ' FOR UPDATE SKIP LOCKED' : '';
  }

  subscribe(listener: (event: WakeEvent) => void): () => void {
    return this.bus.subscribe(listener);
  }

  migrate(): Promise<void> {
    return this.options.migrate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
    await this.options.onClose?.();
  }

  async ping(): Promise<void> {
    await this.client.query('SELECT 1 AS ok');
  }

  now(): number {
    return Date.now();
  }

  // ---- executions ----------------------------------------------------------------------------

  async createExecution(execution: NewExecution, transaction?: ExternalTransaction): Promise<{ id: string; created: boolean; claimed: boolean }> {
    const run = async (tx: SqlExecutor) => {
      const inserted = await this.insertExecution(tx, execution);
      if (inserted.created) return { id: execution.id, created: true, claimed: inserted.claimed };
      const [existing] = await tx.query<{ id: string; workflow_name: string }>(`SELECT id, workflow_name FROM ${this.t.executions} WHERE idempotency_key = ?`, [
        execution.idempotencyKey,
      ]);
      if (!existing) throw new StentError(`Could not create execution '${execution.id}'`);
      // A key is scoped to its workflow: the first dispatch's arguments win, another workflow's is refused.
      if (existing.workflow_name !== execution.workflowName) {
        throw new IdempotencyConflictError(execution.idempotencyKey!, existing.id, existing.workflow_name, execution.workflowName);
      }
      return { id: existing.id, created: false, claimed: false };
    };
    let result: { id: string; created: boolean; claimed: boolean };
    try {
      if (transaction !== undefined && transaction !== null) {
        if (typeof (transaction as { query?: unknown }).query !== 'function') {
          throw new ConfigurationError('dispatch: transaction must be a TypeORM EntityManager (or anything with query(sql, params))');
        }
        result = await run(externalExecutor(transaction as { query(sql: string, params?: unknown[]): Promise<unknown> }, this.client.dialect));
      } else {
        result = await run(this.client);
      }
    } catch (error) {
      if (isUniqueViolation(error)) throw new ExecutionExistsError(execution.id);
      throw error;
    }
    if (result.created && transaction === undefined && !result.claimed) this.bus.publish({ type: 'work' });
    return result;
  }

  /**
   * Inserts an execution; created=false when its idempotency key is already taken. With `claimedBy` it is
   * inserted claimed, unless an older execution of at least its priority is waiting on its queue (that one
   * goes first): the same statement decides, so no backlog can slip in between.
   */
  private async insertExecution(tx: SqlExecutor, execution: NewExecution): Promise<{ created: boolean; claimed: boolean }> {
    const claim = execution.claimedBy;
    const columns = `id, workflow_name, state, args, queue, priority, tags, parent_id, parent_position, idempotency_key, created_at, updated_at, wake_at, deadline_at, max_duration_ms,
         started_at, lease_owner, lease_epoch, lease_expires_at`;
    const common = [
      execution.id,
      execution.workflowName,
      execution.args,
      execution.queue,
      execution.priority,
      JSON.stringify(execution.tags),
      execution.parentId,
      execution.parentPosition,
      execution.idempotencyKey,
      execution.createdAt,
      execution.createdAt,
    ];
    if (!claim) {
      const rows = await tx.query(
        `INSERT INTO ${this.t.executions} (${columns})
         VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0, NULL)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING id`,
        [...common, execution.wakeAt, execution.deadlineAt, execution.maxDurationMs],
      );
      return { created: rows.length > 0, claimed: false };
    }
    const rows = await tx.query<{ lease_owner: string | null }>(
      `INSERT INTO ${this.t.executions} (${columns})
       SELECT ?, ?, CASE WHEN b.busy THEN 'pending' ELSE 'running' END, ?, ?, CAST(? AS INTEGER), ?, ?, CAST(? AS INTEGER), ?, CAST(? AS BIGINT), CAST(? AS BIGINT),
              CASE WHEN b.busy THEN CAST(? AS BIGINT) ELSE NULL END, CAST(? AS BIGINT), CAST(? AS BIGINT),
              CASE WHEN b.busy THEN NULL ELSE CAST(? AS BIGINT) END, CASE WHEN b.busy THEN NULL ELSE ? END,
              CASE WHEN b.busy THEN 0 ELSE 1 END, CASE WHEN b.busy THEN NULL ELSE CAST(? AS BIGINT) END
       FROM (SELECT EXISTS (
               SELECT 1 FROM ${this.t.executions} c
               WHERE c.lease_owner IS NULL AND c.wake_at IS NOT NULL AND c.wake_at <= ? AND c.state IN ${ACTIVE} AND c.queue = ? AND c.priority >= ?
             ) AS busy) b
       WHERE true
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING lease_owner`,
      [
        ...common,
        execution.wakeAt,
        execution.deadlineAt,
        execution.maxDurationMs,
        execution.createdAt,
        claim.owner,
        claim.leaseExpiresAt,
        execution.createdAt,
        execution.queue,
        execution.priority,
      ],
    );
    return { created: rows.length > 0, claimed: rows[0]?.lease_owner === claim.owner };
  }

  async getExecution(id: string): Promise<ExecutionRecord | null> {
    const rows = await this.client.query(`SELECT ${listOf(EXECUTION_READ)} FROM ${this.t.executions} WHERE id = ?`, [id]);
    return rows[0] ? executionFromRow(rows[0]) : null;
  }

  async listExecutions(filter: ExecutionFilter, page: Page): Promise<{ items: ExecutionRecord[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state !== undefined) where.push(this.inList('state', Array.isArray(filter.state) ? filter.state : [filter.state], params));
    if (filter.workflowName !== undefined) {
      where.push('workflow_name = ?');
      params.push(filter.workflowName);
    }
    if (filter.parentId !== undefined) {
      where.push('parent_id = ?');
      params.push(filter.parentId);
    }
    if (filter.queue !== undefined) {
      where.push('queue = ?');
      params.push(filter.queue);
    }
    if (filter.tag !== undefined) {
      where.push(this.tagFilter([filter.tag], params));
    }
    if (filter.createdAfter !== undefined) {
      where.push('created_at >= ?');
      params.push(filter.createdAfter);
    }
    if (filter.createdBefore !== undefined) {
      where.push('created_at < ?');
      params.push(filter.createdBefore);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [count] = await this.client.query<{ total: unknown }>(`SELECT COUNT(*) AS total FROM ${this.t.executions} ${clause}`, params);
    const rows = await this.client.query(`SELECT ${listOf(EXECUTION_READ)} FROM ${this.t.executions} ${clause} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`, [
      ...params,
      page.limit ?? 50,
      page.offset ?? 0,
    ]);
    return { items: rows.map(executionFromRow), total: num(count?.total ?? 0) };
  }

  async loadJournal(executionId: string): Promise<StepRecord[]> {
    const rows = await this.client.query(`SELECT ${listOf(STEP_READ)} FROM ${this.t.steps} WHERE execution_id = ? ORDER BY position`, [executionId]);
    return rows.map(stepFromRow);
  }

  async loadSteps(executionId: string, positions: number[]): Promise<StepRecord[]> {
    if (positions.length === 0) return [];
    const params: unknown[] = [executionId];
    const rows = await this.client.query(`SELECT ${listOf(STEP_READ)} FROM ${this.t.steps} WHERE execution_id = ? AND ${this.inList('position', positions, params)}`, params);
    return rows.map(stepFromRow);
  }

  // ---- claims --------------------------------------------------------------------------------

  /**
   * Claims up to `limit` rows in one statement. On PostgreSQL the candidates are picked and locked in a
   * materialized CTE first (FOR UPDATE SKIP LOCKED): with the plain `WHERE id IN (subquery)` form a
   * concurrent update makes PostgreSQL re-run the subquery and take more rows than the limit.
   */
  private claimRows(
    executor: SqlExecutor,
    table: string,
    columns: readonly string[],
    set: { sql: string; params: unknown[] },
    where: { sql: string; params: unknown[] },
    orderBy: string,
    limit: number,
  ): Promise<Row[]> {
    if (this.pg) {
      return executor.query(
        `WITH picked AS MATERIALIZED (
           SELECT c.id FROM ${table} c WHERE ${where.sql} ORDER BY ${orderBy} LIMIT ? FOR UPDATE SKIP LOCKED
         )
         UPDATE ${table} t SET ${set.sql} FROM picked WHERE t.id = picked.id RETURNING ${listOf(columns, 't')}`,
        [...where.params, limit, ...set.params],
      );
    }
    return executor.query(
      `UPDATE ${table} SET ${set.sql} WHERE id IN (SELECT c.id FROM ${table} c WHERE ${where.sql} ORDER BY ${orderBy} LIMIT ?) RETURNING ${listOf(columns)}`,
      [...set.params, ...where.params, limit],
    );
  }

  async claimExecutions(filter: ClaimFilter): Promise<ExecutionRecord[]> {
    const params: unknown[] = [filter.now];
    const names = this.inList('c.workflow_name', filter.names, params);
    const queues = this.inList('c.queue', filter.queues, params);
    const tags = this.tagFilter(filter.tags, params, 'c.tags');
    const rows = await this.claimRows(
      this.client,
      this.t.executions,
      EXECUTION_READ,
      {
        sql: `state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ?, wake_at = NULL, started_at = COALESCE(started_at, ?), updated_at = ?`,
        params: [filter.owner, filter.now + filter.leaseMs, filter.now, filter.now],
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
    const unlimited = filter.names.filter((name) => !filter.limits.has(name));
    const limited = filter.names.filter((name) => filter.limits.has(name));
    if (filter.suspect) return this.claimStepBatch(this.client, filter, filter.names, 1, 'suspect');
    if (limited.length === 0) return this.claimStepBatch(this.client, filter, unlimited, filter.limit, 'unlimited');
    return this.client.transaction(async (tx) => {
      const claimed: StepRecord[] = [];
      if (unlimited.length > 0) {
        claimed.push(...(await this.claimStepBatch(tx, filter, unlimited, filter.limit, 'unlimited')));
      }
      for (const name of limited) {
        const room = filter.limit - claimed.length;
        if (room <= 0) break;
        if (this.pg) await tx.query(`SELECT pg_advisory_xact_lock(hashtext(?)) AS locked`, [`stent:limit:${name}`]);
        const [running] = await tx.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${this.t.steps} WHERE name = ? AND state = 'running'`, [name]);
        const free = filter.limits.get(name)! - num(running?.n ?? 0);
        if (free <= 0) continue;
        claimed.push(...(await this.claimStepBatch(tx, filter, [name], Math.min(room, free), 'limited')));
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
    const params: unknown[] = [filter.now];
    const nameClause = this.inList('c.name', names, params);
    const queueClause = this.inList('c.queue', filter.queues, params);
    const tagClause = this.tagFilter(filter.tags, params, 'c.tags');
    const extra =
      kind === 'suspect' ? 'AND c.recoveries > 0' : kind === 'unlimited' ? 'AND c.max_concurrent IS NULL AND c.recoveries = 0' : 'AND c.recoveries = 0';
    const rows = await this.claimRows(
      executor,
      this.t.steps,
      STEP_READ,
      {
        sql: `state = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ?, attempts = attempts + 1, started_at = ?`,
        params: [filter.owner, filter.now + filter.leaseMs, filter.now],
      },
      {
        sql: `c.state = 'pending' AND c.kind = 'activity' AND c.available_at <= ? AND ${nameClause} AND ${queueClause} AND ${tagClause} ${extra}
              AND EXISTS (SELECT 1 FROM ${this.t.executions} e WHERE e.id = c.execution_id AND e.state IN ${ACTIVE})`,
        params,
      },
      'c.priority DESC, c.available_at',
      limit,
    );
    return rows.map(stepFromRow).sort((a, b) => b.priority - a.priority || a.availableAt - b.availableAt);
  }

  async hasSuspects(filter: ClaimFilter): Promise<boolean> {
    const params: unknown[] = [filter.now];
    const nameClause = this.inList('name', filter.names, params);
    const queueClause = this.inList('queue', filter.queues, params);
    const rows = await this.client.query(
      `SELECT 1 AS found FROM ${this.t.steps} WHERE state = 'pending' AND kind = 'activity' AND recoveries > 0 AND available_at <= ? AND ${nameClause} AND ${queueClause} LIMIT 1`,
      params,
    );
    return rows.length > 0;
  }

  async takeWokenExecutions(owner: string, now: number): Promise<Array<{ id: string; epoch: number }>> {
    const rows = await this.client.query<{ id: string; lease_epoch: unknown }>(
      `UPDATE ${this.t.executions} SET wake_at = NULL
       WHERE lease_owner = ? AND wake_at IS NOT NULL AND wake_at <= ? AND state IN ${ACTIVE}
       RETURNING id, lease_epoch`,
      [owner, now],
    );
    return rows.map((row) => ({ id: String(row.id), epoch: num(row.lease_epoch) }));
  }

  // ---- journal writes ------------------------------------------------------------------------

  /** Locks the execution row for the rest of the transaction if the fence still holds. */
  private async holdsFence(tx: SqlExecutor, fence: ExecutionFence, now: number): Promise<boolean> {
    const changed = await tx.execute(
      `UPDATE ${this.t.executions} SET updated_at = ? WHERE id = ? AND lease_owner = ? AND lease_epoch = ? AND state IN ${ACTIVE}`,
      [now, fence.executionId, fence.owner, fence.epoch],
    );
    return changed === 1;
  }

  private stepParams(step: NewStep): unknown[] {
    return [
      step.id,
      step.executionId,
      step.position,
      step.kind,
      step.name,
      step.args,
      step.state,
      step.result ?? null,
      step.error ?? null,
      step.claimedBy ? 1 : 0,
      step.retryPolicy ? JSON.stringify(step.retryPolicy) : null,
      step.timeoutMs,
      step.queue,
      step.priority,
      JSON.stringify(step.tags),
      step.maxConcurrent,
      step.availableAt,
      step.fireAt,
      step.claimedBy?.owner ?? null,
      step.claimedBy ? 1 : 0,
      step.claimedBy?.leaseExpiresAt ?? null,
      step.createdAt,
      step.claimedBy ? step.createdAt : null,
      step.childExecutionId ?? null,
      step.callTurn,
    ];
  }

  /**
   * PostgreSQL, plain steps: inserts requested by different runs while one insert statement is on its
   * way are sent together in the next one. Each row goes in only while its own run's fence holds (the
   * execution row is share-locked for the statement, so a concurrent reclaim waits).
   */
  private insertStepsFenced(fence: ExecutionFence, steps: NewStep[], completions: LocalCompletion[]): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.insertQueue.push({ fence, steps, completions, resolve, reject });
      if (this.insertFlushing) return;
      this.insertFlushing = true;
      queueMicrotask(() => void this.flushInsertQueue());
    });
  }

  private async flushInsertQueue(): Promise<void> {
    try {
      while (this.insertQueue.length > 0) {
        let rows = 0;
        let take = 0;
        while (take < this.insertQueue.length && (take === 0 || rows + this.insertQueue[take]!.steps.length <= INSERT_CHUNK)) {
          rows += this.insertQueue[take]!.steps.length;
          take++;
        }
        const batch = this.insertQueue.splice(0, take);
        try {
          const { inserted, done } = await this.insertFencedBatch(batch);
          for (const entry of batch) {
            entry.resolve(entry.steps.every((step) => inserted.has(step.id)) && entry.completions.every((c) => done.has(c.fence.stepId)));
          }
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      this.insertFlushing = false;
    }
  }

  private async insertFencedBatch(batch: Array<{ fence: ExecutionFence; steps: NewStep[]; completions: LocalCompletion[] }>): Promise<{ inserted: Set<string>; done: Set<string> }> {
    const completions = batch.flatMap((entry) => entry.completions.map((completion) => ({ completion, executionId: entry.fence.executionId })));
    const params: unknown[] = [];
    // Results the workflows already used are recorded in the same statement; a run's steps go in only if
    // all of its results did (each still owned).
    let done = '';
    if (completions.length > 0) {
      const rows = completions.map(({ completion, executionId }) => {
        params.push(completion.fence.stepId, completion.fence.owner, completion.fence.epoch, completion.result, completion.finishedAt, executionId);
        return '(?::varchar, ?::varchar, ?::integer, ?::text, ?::bigint, ?::varchar)';
      });
      done = `done AS (
         UPDATE ${this.t.steps} s SET state = 'completed', result = c.result, error = NULL, lease_owner = NULL, lease_expires_at = NULL, finished_at = c.finished_at
         FROM (VALUES ${rows.join(', ')}) AS c(id, owner, epoch, result, finished_at, execution_id)
         WHERE s.id = c.id AND s.lease_owner = c.owner AND s.lease_epoch = c.epoch AND s.state = 'running' AND s.execution_id = c.execution_id
         RETURNING s.id, s.execution_id
       ), `;
    }
    const rows: string[] = [];
    for (const { fence, steps, completions: own } of batch) {
      for (const step of steps) {
        params.push(...this.stepParams(step), fence.owner, fence.epoch, own.length);
        rows.push(`(${STEP_COLUMN_TYPES.map((type) => `?::${type}`).join(', ')}, ?::varchar, ?::integer, ?::integer)`);
      }
    }
    const allDone = completions.length > 0 ? ` AND (SELECT COUNT(*) FROM done d WHERE d.execution_id = v.execution_id) = v.expect_done` : '';
    const result = await this.client.query<{ k: string; id: string }>(
      `WITH ${done}ins AS (
         INSERT INTO ${this.t.steps} (${STEP_COLUMNS.join(', ')})
         SELECT ${STEP_COLUMNS.map((column) => `v.${column}`).join(', ')}
         FROM (VALUES ${rows.join(', ')}) AS v(${STEP_COLUMNS.join(', ')}, fence_owner, fence_epoch, expect_done)
         WHERE EXISTS (
           SELECT 1 FROM ${this.t.executions} e
           WHERE e.id = v.execution_id AND e.lease_owner = v.fence_owner AND e.lease_epoch = v.fence_epoch AND e.state IN ${ACTIVE} FOR SHARE
         )${allDone}
         RETURNING id
       )
       SELECT 'i' AS k, id FROM ins${completions.length > 0 ? ` UNION ALL SELECT 'd' AS k, id FROM done` : ''}`,
      params,
    );
    const inserted = new Set<string>();
    const doneIds = new Set<string>();
    for (const row of result) (row.k === 'i' ? inserted : doneIds).add(String(row.id));
    return { inserted, done: doneIds };
  }

  /** Records results the workflow already used; false if any of their steps is no longer owned. */
  private async completeLocal(tx: SqlExecutor, completions: LocalCompletion[]): Promise<boolean> {
    let all = true;
    for (const { fence, result, finishedAt } of completions) {
      const changed = await tx.execute(
        `UPDATE ${this.t.steps} SET state = 'completed', result = ?, error = NULL, lease_owner = NULL, lease_expires_at = NULL, finished_at = ?
         WHERE id = ? AND lease_owner = ? AND lease_epoch = ? AND state = 'running'`,
        [result, finishedAt, fence.stepId, fence.owner, fence.epoch],
      );
      if (changed !== 1) all = false;
    }
    return all;
  }

  async insertSteps(fence: ExecutionFence, steps: NewStep[], deliveries: DeliveryRecord[] = [], completions: LocalCompletion[] = []): Promise<boolean> {
    if (steps.length === 0 && deliveries.length === 0 && completions.length === 0) return true;
    const plain = this.pg && deliveries.length === 0 && steps.length > 0 && steps.length <= INSERT_CHUNK && steps.every((step) => !step.child && !step.effect);
    const ok = plain ? await this.insertStepsFenced(fence, steps, completions) : await this.client.transaction(async (tx) => {
      if (!(await this.completeLocal(tx, completions))) return false;
      if (!(await this.holdsFence(tx, fence, steps[0]?.createdAt ?? Date.now()))) return false;
      await this.recordDeliveries(tx, fence.executionId, deliveries);
      for (const step of steps) if (step.child) await this.insertExecution(tx, step.child);
      for (let start = 0; start < steps.length; start += INSERT_CHUNK) {
        const chunk = steps.slice(start, start + INSERT_CHUNK);
        const params: unknown[] = [];
        const rows = chunk.map((step) => {
          params.push(...this.stepParams(step));
          return `(${STEP_COLUMNS.map(() => '?').join(', ')})`;
        });
        await tx.execute(`INSERT INTO ${this.t.steps} (${STEP_COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`, params);
      }
      for (const step of steps) if (step.effect) await this.applyEffect(tx, fence.executionId, step.effect);
      return true;
    });
    if (ok && steps.some((step) => (step.kind === 'activity' && step.state === 'pending') || step.child)) this.bus.publish({ type: 'work' });
    return ok;
  }

  /** Writes the order in which the workflow was handed its steps' outcomes. */
  private async recordDeliveries(tx: SqlExecutor, executionId: string, deliveries: DeliveryRecord[]): Promise<void> {
    if (deliveries.length === 0) return;
    if (this.pg) {
      const params: unknown[] = [executionId];
      const rows = deliveries.map((d) => {
        params.push(d.position, d.turn, d.seq);
        return '(?::integer, ?::integer, ?::integer)';
      });
      await tx.execute(
        `UPDATE ${this.t.steps} s SET delivered_turn = v.turn, delivered_seq = v.seq FROM (VALUES ${rows.join(', ')}) AS v(position, turn, seq)
         WHERE s.execution_id = ? AND s.position = v.position`,
        [...params.slice(1), params[0]],
      );
      return;
    }
    for (const d of deliveries) {
      await tx.execute(`UPDATE ${this.t.steps} SET delivered_turn = ?, delivered_seq = ? WHERE execution_id = ? AND position = ?`, [d.turn, d.seq, executionId, d.position]);
    }
  }

  private async applyEffect(tx: SqlExecutor, executionId: string, effect: StepEffect): Promise<void> {
    if (effect.kind === 'progress') {
      await tx.execute(`UPDATE ${this.t.executions} SET progress = ? WHERE id = ?`, [effect.value, executionId]);
      return;
    }
    const column = effect.kind === 'counter' ? 'counters' : 'custom_state';
    const [row] = await tx.query<{ value: string | null }>(`SELECT ${column} AS value FROM ${this.t.executions} WHERE id = ?`, [executionId]);
    const current = row?.value ? (JSON.parse(row.value) as Record<string, unknown>) : {};
    if (effect.kind === 'counter') current[effect.name] = (typeof current[effect.name] === 'number' ? (current[effect.name] as number) : 0) + effect.by;
    else current[effect.key] = JSON.parse(effect.value);
    await tx.execute(`UPDATE ${this.t.executions} SET ${column} = ? WHERE id = ?`, [JSON.stringify(current), executionId]);
  }

  async discardSteps(fence: ExecutionFence, positions: number[], reviveSettled = false): Promise<boolean> {
    if (positions.length === 0 && !reviveSettled) return true;
    return this.client.transaction(async (tx) => {
      if (!(await this.holdsFence(tx, fence, Date.now()))) return false;
      if (positions.length > 0) await this.discardWithin(tx, fence.executionId, `position IN (${positions.map(() => '?').join(', ')})`, positions);
      if (reviveSettled) await tx.execute(`UPDATE ${this.t.executions} SET revive_position = NULL WHERE id = ?`, [fence.executionId]);
      return true;
    });
  }

  async confirmSteps(fence: ExecutionFence, positions: number[]): Promise<boolean> {
    if (positions.length === 0) return true;
    return this.client.transaction(async (tx) => {
      if (!(await this.holdsFence(tx, fence, Date.now()))) return false;
      const params: unknown[] = [fence.executionId];
      await tx.execute(`UPDATE ${this.t.steps} SET tentative = 0 WHERE execution_id = ? AND ${this.inList('position', positions, params)}`, params);
      return true;
    });
  }

  async releaseExecution(fence: ExecutionFence, now: number): Promise<void> {
    const released = await this.client.execute(
      `UPDATE ${this.t.executions} SET lease_owner = NULL, lease_expires_at = NULL, wake_at = ?, updated_at = ?
       WHERE id = ? AND lease_owner = ? AND lease_epoch = ? AND state IN ${ACTIVE}`,
      [now, now, fence.executionId, fence.owner, fence.epoch],
    );
    if (released > 0) this.bus.publish({ type: 'work' });
  }

  /**
   * Deletes the steps of an execution matching `where` (over the steps table, with `params`): child
   * executions they started go too, signals they consumed are handed back, their dead letters removed,
   * and the execution's counters, progress and state are recomputed from the effects that remain.
   */
  private async discardWithin(tx: SqlExecutor, executionId: string, where: string, params: unknown[]): Promise<void> {
    const doomed = await tx.query<{ id: string; position: unknown; child_execution_id: string | null }>(
      `SELECT id, position, child_execution_id FROM ${this.t.steps} WHERE execution_id = ? AND ${where}`,
      [executionId, ...params],
    );
    if (doomed.length === 0) return;
    const positions = doomed.map((step) => num(step.position));
    const signalParams: unknown[] = [executionId];
    await tx.execute(
      `UPDATE ${this.t.signals} SET consumed_at = NULL, consumed_position = NULL WHERE execution_id = ? AND ${this.inList('consumed_position', positions, signalParams)}`,
      signalParams,
    );
    const letterParams: unknown[] = [];
    await tx.execute(`DELETE FROM ${this.t.deadLetters} WHERE ${this.inList('step_id', doomed.map((step) => String(step.id)), letterParams)}`, letterParams);
    for (const { child_execution_id: childId } of doomed) if (childId) await this.deleteExecutionTree(tx, childId);
    const stepParams: unknown[] = [executionId];
    await tx.execute(`DELETE FROM ${this.t.steps} WHERE execution_id = ? AND ${this.inList('position', positions, stepParams)}`, stepParams);
    await this.recomputeEffects(tx, executionId);
  }

  /** Rebuilds progress, counters and custom state from the effect steps in the journal, in position order. */
  private async recomputeEffects(tx: SqlExecutor, executionId: string): Promise<void> {
    const rows = await tx.query<{ args: string }>(
      `SELECT args FROM ${this.t.steps} WHERE execution_id = ? AND kind = 'value' AND args IS NOT NULL ORDER BY position`,
      [executionId],
    );
    let progress: string | null = null;
    const counters: Record<string, number> = {};
    const state: Record<string, unknown> = {};
    for (const row of rows) {
      const effect = JSON.parse(row.args) as StepEffect;
      if (effect.kind === 'progress') progress = effect.value;
      else if (effect.kind === 'counter') counters[effect.name] = (counters[effect.name] ?? 0) + effect.by;
      else if (effect.kind === 'state') state[effect.key] = JSON.parse(effect.value);
    }
    await tx.execute(`UPDATE ${this.t.executions} SET progress = ?, counters = ?, custom_state = ? WHERE id = ?`, [
      progress,
      Object.keys(counters).length ? JSON.stringify(counters) : null,
      Object.keys(state).length ? JSON.stringify(state) : null,
      executionId,
    ]);
  }

  async resolveStep(fence: ExecutionFence, position: number, state: 'completed' | 'failed', result: string | null, error: string | null, now: number): Promise<boolean> {
    return this.client.transaction(async (tx) => {
      if (!(await this.holdsFence(tx, fence, now))) return false;
      await tx.execute(
        `UPDATE ${this.t.steps} SET state = ?, result = ?, error = ?, finished_at = ? WHERE execution_id = ? AND position = ? AND state IN ('pending', 'waiting')`,
        [state, result, error, now, fence.executionId, position],
      );
      return true;
    });
  }

  async completeSteps(completions: StepCompletion[]): Promise<boolean[]> {
    const only = completions.length === 1 ? completions[0]! : undefined;
    if (this.pg && only && only.outcome.kind === 'completed' && !only.outcome.cache) {
      return [await this.completeOneFenced(only)];
    }
    const woken = new Set<string>();
    // A fixed lock order (step rows by id, then execution rows) keeps concurrent batches from deadlocking.
    const order = completions.map((completion, index) => ({ completion, index })).sort((a, b) => (a.completion.fence.stepId < b.completion.fence.stepId ? -1 : 1));
    const results = await this.client.transaction(async (tx) => {
      const out: boolean[] = new Array(completions.length).fill(false);
      const toWake: Array<{ executionId: string; force: boolean; now: number }> = [];
      let rest = order;
      if (this.pg) {
        // Plain completions of a batch in one statement (PostgreSQL spends more per statement than per row).
        const plain = order.filter(({ completion }) => completion.outcome.kind === 'completed' && !completion.outcome.cache);
        if (plain.length > 1) {
          rest = order.filter(({ completion }) => !(completion.outcome.kind === 'completed' && !completion.outcome.cache));
          const params: unknown[] = [];
          const rows = plain.map(({ completion }) => {
            const outcome = completion.outcome as { result: string };
            params.push(completion.fence.stepId, completion.fence.owner, completion.fence.epoch, outcome.result, completion.finishedAt);
            return '(?::varchar, ?::varchar, ?::integer, ?::text, ?::bigint)';
          });
          const done = await tx.query<{ id: string }>(
            `UPDATE ${this.t.steps} s SET state = 'completed', result = v.result, error = NULL, lease_owner = NULL, lease_expires_at = NULL, finished_at = v.finished_at
             FROM (VALUES ${rows.join(', ')}) AS v(id, owner, epoch, result, finished_at)
             WHERE s.id = v.id AND s.lease_owner = v.owner AND s.lease_epoch = v.epoch AND s.state = 'running'
             RETURNING s.id`,
            params,
          );
          const changed = new Set(done.map((row) => String(row.id)));
          for (const { completion, index } of plain) {
            out[index] = changed.has(completion.fence.stepId);
            if (out[index]) toWake.push({ executionId: completion.executionId, force: completion.wakeExecution, now: completion.finishedAt });
          }
        }
      }
      for (const { completion, index } of rest) {
        const { fence, outcome, finishedAt } = completion;
        const guard = `WHERE id = ? AND lease_owner = ? AND lease_epoch = ? AND state = 'running'`;
        const guardParams = [fence.stepId, fence.owner, fence.epoch];
        let changed: number;
        if (outcome.kind === 'completed') {
          changed = await tx.execute(
            `UPDATE ${this.t.steps} SET state = 'completed', result = ?, error = NULL, lease_owner = NULL, lease_expires_at = NULL, finished_at = ? ${guard}`,
            [outcome.result, finishedAt, ...guardParams],
          );
          if (changed === 1 && outcome.cache) {
            await tx.execute(
              `INSERT INTO ${this.t.cache} (cache_key, name, result, created_at, expires_at) SELECT ?, name, ?, ?, ? FROM ${this.t.steps} WHERE id = ?
               ON CONFLICT (cache_key) DO UPDATE SET result = excluded.result, created_at = excluded.created_at, expires_at = excluded.expires_at`,
              [outcome.cache.key, outcome.result, finishedAt, outcome.cache.expiresAt, fence.stepId],
            );
          }
        } else {
          // An attempt of an execution that already ended (cancelled, timed out) is not retried or dead-lettered.
          const [owner] = await tx.query<{ state: string }>(`SELECT state FROM ${this.t.executions} WHERE id = ?`, [completion.executionId]);
          const ended = !owner || (owner.state !== 'pending' && owner.state !== 'running');
          if (ended) {
            changed = await tx.execute(
              `UPDATE ${this.t.steps} SET state = 'cancelled', error = ?, lease_owner = NULL, lease_expires_at = NULL, finished_at = ? ${guard}`,
              [outcome.error, finishedAt, ...guardParams],
            );
          } else if (outcome.kind === 'retry') {
            changed = await tx.execute(
              `UPDATE ${this.t.steps} SET state = 'pending', error = ?, available_at = ?, lease_owner = NULL, lease_expires_at = NULL ${guard}`,
              [outcome.error, outcome.availableAt, ...guardParams],
            );
          } else {
            changed = await tx.execute(
              `UPDATE ${this.t.steps} SET state = 'failed', error = ?, lease_owner = NULL, lease_expires_at = NULL, finished_at = ? ${guard}`,
              [outcome.error, finishedAt, ...guardParams],
            );
            if (changed === 1) await this.deadLetterStep(tx, fence.stepId, outcome.deadLetterReason, finishedAt);
          }
        }
        out[index] = changed === 1;
        if (changed === 1 && outcome.kind !== 'retry') toWake.push({ executionId: completion.executionId, force: completion.wakeExecution, now: finishedAt });
      }
      toWake.sort((a, b) => (a.executionId < b.executionId ? -1 : 1));
      if (this.pg && toWake.length > 1) {
        const now = Math.max(...toWake.map((w) => w.now));
        const forced = toWake.filter((w) => w.force).map((w) => w.executionId);
        const params: unknown[] = [now, now, toWake.map((w) => w.executionId), forced];
        const rows = await tx.query<{ id: string }>(
          `UPDATE ${this.t.executions} SET wake_at = ? WHERE id IN (
             SELECT id FROM ${this.t.executions} WHERE id = ANY(?) AND state IN ${ACTIVE} AND (wake_at IS NULL OR wake_at > ?) AND (lease_owner IS NULL OR id = ANY(?))
             ORDER BY id FOR UPDATE
           ) RETURNING id`,
          [params[0], params[2], params[1], params[3]],
        );
        for (const row of rows) woken.add(String(row.id));
        return out;
      }
      for (const { executionId, force, now } of toWake) {
        // Wake the execution if asked to, and in any case when nobody holds it: its holder may have
        // suspended it between the attempt finishing and this write.
        const changed = await tx.execute(
          `UPDATE ${this.t.executions} SET wake_at = ? WHERE id = ? AND state IN ${ACTIVE} AND (wake_at IS NULL OR wake_at > ?)${force ? '' : ' AND lease_owner IS NULL'}`,
          [now, executionId, now],
        );
        if (changed > 0) woken.add(executionId);
      }
      return out;
    });
    for (const executionId of woken) this.bus.publish({ type: 'woken', executionId });
    if (woken.size > 0) this.bus.publish({ type: 'work' });
    return results;
  }

  /**
   * PostgreSQL, one completed step: one statement records it and wakes its execution when asked to or
   * when nobody holds it (the execution row is locked after the step row, as in batches).
   */
  private async completeOneFenced(completion: StepCompletion): Promise<boolean> {
    const { fence, outcome, finishedAt } = completion;
    const [row] = await this.client.query<{ changed: unknown; woken: unknown }>(
      `WITH done AS (
         UPDATE ${this.t.steps} SET state = 'completed', result = ?, error = NULL, lease_owner = NULL, lease_expires_at = NULL, finished_at = ?
         WHERE id = ? AND lease_owner = ? AND lease_epoch = ? AND state = 'running'
         RETURNING execution_id
       ), woke AS (
         UPDATE ${this.t.executions} e SET wake_at = ? FROM done
         WHERE e.id = done.execution_id AND e.state IN ${ACTIVE} AND (e.wake_at IS NULL OR e.wake_at > ?)${completion.wakeExecution ? '' : ' AND e.lease_owner IS NULL'}
         RETURNING e.id
       )
       SELECT (SELECT COUNT(*) FROM done) AS changed, (SELECT COUNT(*) FROM woke) AS woken`,
      [outcome.kind === 'completed' ? outcome.result : null, finishedAt, fence.stepId, fence.owner, fence.epoch, finishedAt, finishedAt],
    );
    if (num(row?.woken ?? 0) > 0) {
      this.bus.publish({ type: 'woken', executionId: completion.executionId });
      this.bus.publish({ type: 'work' });
    }
    return num(row?.changed ?? 0) === 1;
  }

  private async wake(tx: SqlExecutor, executionId: string, now: number): Promise<void> {
    await tx.execute(
      `UPDATE ${this.t.executions} SET wake_at = ? WHERE id = ? AND state IN ${ACTIVE} AND (wake_at IS NULL OR wake_at > ?)`,
      [now, executionId, now],
    );
  }

  private async deadLetterStep(tx: SqlExecutor, stepId: string, reason: string, now: number): Promise<void> {
    await tx.execute(
      `INSERT INTO ${this.t.deadLetters} (id, step_id, execution_id, kind, name, args, error, attempts, reason, created_at)
       SELECT ?, id, execution_id, kind, name, args, error, attempts, ?, ? FROM ${this.t.steps} WHERE id = ?`,
      [randomUUID(), reason, now, stepId],
    );
  }

  // ---- execution state -----------------------------------------------------------------------

  async suspendExecution(
    fence: ExecutionFence,
    wakeAt: number | null,
    awaitedPositions: number[],
    awaitedSignals: string[],
    now: number,
    deliveries: DeliveryRecord[] = [],
  ): Promise<boolean> {
    let wokeNow = false;
    const ok = await this.client.transaction(async (tx) => {
      const released = await tx.execute(
        `UPDATE ${this.t.executions} SET lease_owner = NULL, lease_expires_at = NULL, wake_at = ?, updated_at = ?
         WHERE id = ? AND lease_owner = ? AND lease_epoch = ? AND state IN ${ACTIVE}`,
        [wakeAt, now, fence.executionId, fence.owner, fence.epoch],
      );
      if (released !== 1) return false;
      await this.recordDeliveries(tx, fence.executionId, deliveries);
      if (awaitedPositions.length > 0) {
        const params: unknown[] = [fence.executionId];
        const positions = this.inList('position', awaitedPositions, params);
        const [done] = await tx.query<{ n: unknown; total: unknown }>(
          `SELECT SUM(CASE WHEN state IN ('completed', 'failed') THEN 1 ELSE 0 END) AS n, COUNT(*) AS total
           FROM ${this.t.steps} WHERE execution_id = ? AND ${positions}`,
          params,
        );
        // A finished awaited step, or one that was never recorded (nothing would ever wake it): replay now.
        let ready = num(done?.n ?? 0) > 0 || num(done?.total ?? 0) < awaitedPositions.length;
        if (!ready && awaitedSignals.length > 0) {
          const signalParams: unknown[] = [fence.executionId];
          const names = this.inList('name', awaitedSignals, signalParams);
          const [arrived] = await tx.query<{ n: unknown }>(
            `SELECT COUNT(*) AS n FROM ${this.t.signals} WHERE execution_id = ? AND ${names} AND consumed_at IS NULL`,
            signalParams,
          );
          ready = num(arrived?.n ?? 0) > 0;
        }
        if (ready) {
          await tx.execute(`UPDATE ${this.t.executions} SET wake_at = ? WHERE id = ?`, [now, fence.executionId]);
          wokeNow = true;
        }
      }
      return true;
    });
    if (wokeNow) this.bus.publish({ type: 'work' });
    return ok;
  }

  async finishExecution(
    fence: ExecutionFence,
    state: 'completed' | 'failed' | 'timed_out',
    result: string | null,
    error: string | null,
    now: number,
    options: FinishOptions = {},
  ): Promise<boolean> {
    const { hasParent = true, leftovers = true, deliveries = [], discard = [], completions = [] } = options;
    let ended: string[] = [];
    const simple = state === 'completed' && !hasParent && !leftovers && deliveries.length === 0 && discard.length === 0;
    const ok =
      simple && (completions.length === 0 || this.pg)
        ? await this.finishSimply(fence, result, now, completions)
        : await this.client.transaction(async (tx) => {
            if (!(await this.completeLocal(tx, completions))) return false;
            const outcome = await this.finishWithin(tx, fence, state, result, error, now, deliveries, discard);
            ended = outcome ?? [];
            return outcome !== null;
          });
    if (ok) for (const id of [fence.executionId, ...ended]) this.bus.publish({ type: 'finished', executionId: id });
    this.announceWakes();
    return ok;
  }

  /**
   * A completed top-level execution that left nothing behind, in one statement (with the results of its
   * last steps, on PostgreSQL: the execution is completed only if all of them are still owned).
   */
  private async finishSimply(fence: ExecutionFence, result: string | null, now: number, completions: LocalCompletion[]): Promise<boolean> {
    const finish = `UPDATE ${this.t.executions}
       SET state = 'completed', result = ?, error = NULL, finished_at = ?, updated_at = ?, lease_owner = NULL, lease_expires_at = NULL, wake_at = NULL
       WHERE id = ? AND lease_owner = ? AND lease_epoch = ? AND state IN ${ACTIVE} AND parent_id IS NULL`;
    const finishParams = [result, now, now, fence.executionId, fence.owner, fence.epoch];
    if (completions.length === 0) return (await this.client.execute(finish, finishParams)) === 1;
    const params: unknown[] = [];
    const rows = completions.map((completion) => {
      params.push(completion.fence.stepId, completion.fence.owner, completion.fence.epoch, completion.result, completion.finishedAt);
      return '(?::varchar, ?::varchar, ?::integer, ?::text, ?::bigint)';
    });
    const [row] = await this.client.query<{ n: unknown }>(
      `WITH done AS (
         UPDATE ${this.t.steps} s SET state = 'completed', result = c.result, error = NULL, lease_owner = NULL, lease_expires_at = NULL, finished_at = c.finished_at
         FROM (VALUES ${rows.join(', ')}) AS c(id, owner, epoch, result, finished_at)
         WHERE s.id = c.id AND s.lease_owner = c.owner AND s.lease_epoch = c.epoch AND s.state = 'running'
         RETURNING s.id
       ), fin AS (
         ${finish} AND (SELECT COUNT(*) FROM done) = ?
         RETURNING id
       )
       SELECT COUNT(*) AS n FROM fin`,
      [...params, ...finishParams, completions.length],
    );
    return num(row?.n ?? 0) === 1;
  }

  /**
   * Ends an owned execution inside `tx`: what it left unfinished is cancelled (its pending and waiting
   * steps, its child executions still running, and theirs). Returns the descendants it cancelled, or
   * null when the fence no longer holds.
   */
  private async finishWithin(
    tx: SqlExecutor,
    fence: ExecutionFence,
    state: string,
    result: string | null,
    error: string | null,
    now: number,
    deliveries: DeliveryRecord[] = [],
    discard: number[] = [],
  ): Promise<string[] | null> {
    const changed = await tx.execute(
      `UPDATE ${this.t.executions}
       SET state = ?, result = ?, error = ?, finished_at = ?, updated_at = ?, lease_owner = NULL, lease_expires_at = NULL, wake_at = NULL
       WHERE id = ? AND lease_owner = ? AND lease_epoch = ? AND state IN ${ACTIVE}`,
      [state, result, error, now, now, fence.executionId, fence.owner, fence.epoch],
    );
    if (changed !== 1) return null;
    await this.recordDeliveries(tx, fence.executionId, deliveries);
    if (discard.length > 0) await this.discardWithin(tx, fence.executionId, `position IN (${discard.map(() => '?').join(', ')})`, discard);
    await tx.execute(`UPDATE ${this.t.steps} SET state = 'cancelled', finished_at = ? WHERE execution_id = ? AND state IN ('pending', 'waiting')`, [
      now,
      fence.executionId,
    ]);
    const descendants = await this.activeDescendants(tx, fence.executionId);
    await this.cancelAll(tx, descendants, now);
    await this.reportToParent(tx, fence.executionId, state === 'completed' ? 'completed' : 'failed', result, error, now);
    return descendants;
  }

  /** Ids of the executions below `rootId` (children, their children, ...) that are still active. */
  private async activeDescendants(tx: SqlExecutor, rootId: string): Promise<string[]> {
    const rows = await tx.query<{ id: string }>(
      `WITH RECURSIVE tree(id) AS (
         SELECT id FROM ${this.t.executions} WHERE parent_id = ?
         UNION ALL
         SELECT e.id FROM ${this.t.executions} e JOIN tree ON e.parent_id = tree.id
       )
       SELECT tree.id FROM tree JOIN ${this.t.executions} x ON x.id = tree.id WHERE x.state IN ${ACTIVE}`,
      [rootId],
    );
    return rows.map((row) => String(row.id));
  }

  /** Moves active executions to cancelled (each with its own WorkflowCancelledError) with their pending and waiting steps. */
  private async cancelAll(tx: SqlExecutor, ids: string[], now: number, error?: string): Promise<void> {
    for (const id of ids) {
      await tx.execute(
        `UPDATE ${this.t.executions} SET state = 'cancelled', error = ?, finished_at = ?, updated_at = ?, lease_owner = NULL, lease_expires_at = NULL, wake_at = NULL
         WHERE id = ? AND state IN ${ACTIVE}`,
        [error ?? encodeError(new WorkflowCancelledError(id)), now, now, id],
      );
      await tx.execute(`UPDATE ${this.t.steps} SET state = 'cancelled', finished_at = ? WHERE execution_id = ? AND state IN ('pending', 'waiting')`, [now, id]);
    }
  }

  /** A child execution ended: complete the parent's waiting step with its outcome and wake the parent. */
  private async reportToParent(tx: SqlExecutor, childId: string, state: 'completed' | 'failed', result: string | null, error: string | null, now: number): Promise<void> {
    const [child] = await tx.query<{ parent_id: string | null; parent_position: unknown }>(
      `SELECT parent_id, parent_position FROM ${this.t.executions} WHERE id = ?`,
      [childId],
    );
    if (!child?.parent_id) return;
    const changed = await tx.execute(
      `UPDATE ${this.t.steps} SET state = ?, result = ?, error = ?, finished_at = ? WHERE execution_id = ? AND position = ? AND state IN ('pending', 'waiting')`,
      [state, result, error, now, child.parent_id, num(child.parent_position)],
    );
    if (changed === 1) {
      await this.wake(tx, child.parent_id, now);
      this.pendingWakes.push(child.parent_id);
    }
  }

  async failExecutionDeadLettered(fence: ExecutionFence, error: string, reason: string, now: number, deliveries: DeliveryRecord[] = []): Promise<boolean> {
    let ended: string[] = [];
    const ok = await this.client.transaction(async (tx) => {
      const outcome = await this.finishWithin(tx, fence, 'failed', null, error, now, deliveries);
      if (outcome === null) return false;
      ended = outcome;
      await tx.execute(
        `INSERT INTO ${this.t.deadLetters} (id, step_id, execution_id, kind, name, args, error, attempts, reason, created_at)
         SELECT ?, NULL, id, 'workflow', workflow_name, args, ?, recoveries + 1, ?, ? FROM ${this.t.executions} WHERE id = ?`,
        [randomUUID(), error, reason, now, fence.executionId],
      );
      return true;
    });
    if (ok) for (const id of [fence.executionId, ...ended]) this.bus.publish({ type: 'finished', executionId: id });
    this.announceWakes();
    return ok;
  }

  private announceWakes(): void {
    const woken = this.pendingWakes;
    this.pendingWakes = [];
    for (const executionId of woken) this.bus.publish({ type: 'woken', executionId });
    if (woken.length > 0) this.bus.publish({ type: 'work' });
  }

  // ---- signals, cancel, cache ----------------------------------------------------------------

  async sendSignal(executionId: string, name: string, payload: string, now: number): Promise<void> {
    await this.client.transaction(async (tx) => {
      const [row] = await tx.query<{ state: string }>(`SELECT state FROM ${this.t.executions} WHERE id = ?${this.pg ? ' FOR UPDATE' : ''}`, [executionId]);
      if (!row) throw new ExecutionNotFoundError(executionId);
      if (row.state !== 'pending' && row.state !== 'running') throw new ExecutionFinishedError(executionId, row.state);
      await tx.execute(`INSERT INTO ${this.t.signals} (execution_id, name, payload, created_at) VALUES (?, ?, ?, ?)`, [executionId, name, payload, now]);
      await this.wake(tx, executionId, now);
    });
    this.bus.publish({ type: 'woken', executionId });
    this.bus.publish({ type: 'work' });
  }

  async consumeSignal(
    fence: ExecutionFence,
    position: number,
    name: string,
    now: number,
    timeoutError: string | null,
  ): Promise<{ kind: 'received'; payload: string } | { kind: 'timed_out' } | { kind: 'none' } | { kind: 'lost' }> {
    return this.client.transaction(async (tx) => {
      if (!(await this.holdsFence(tx, fence, now))) return { kind: 'lost' as const };
      const [signal] = await tx.query<{ seq: unknown; payload: string }>(
        `SELECT seq, payload FROM ${this.t.signals} WHERE execution_id = ? AND name = ? AND consumed_at IS NULL ORDER BY seq LIMIT 1`,
        [fence.executionId, name],
      );
      if (signal) {
        const claimed = await tx.execute(`UPDATE ${this.t.signals} SET consumed_at = ?, consumed_position = ? WHERE seq = ? AND consumed_at IS NULL`, [
          now,
          position,
          signal.seq,
        ]);
        const stepped = await tx.execute(
          `UPDATE ${this.t.steps} SET state = 'completed', result = ?, finished_at = ? WHERE execution_id = ? AND position = ? AND state = 'waiting'`,
          [signal.payload, now, fence.executionId, position],
        );
        if (claimed !== 1 || stepped !== 1) throw new StentError(`Signal '${name}' for execution ${fence.executionId} could not be consumed at position ${position}`);
        return { kind: 'received' as const, payload: signal.payload };
      }
      if (timeoutError === null) return { kind: 'none' as const };
      await tx.execute(`UPDATE ${this.t.steps} SET state = 'failed', error = ?, finished_at = ? WHERE execution_id = ? AND position = ? AND state = 'waiting'`, [
        timeoutError,
        now,
        fence.executionId,
        position,
      ]);
      return { kind: 'timed_out' as const };
    });
  }

  async cancelExecution(executionId: string, error: string, now: number): Promise<{ changed: boolean; state: string; cancelled: string[] }> {
    const outcome = await this.client.transaction(async (tx) => {
      const [root] = await tx.query<{ state: string }>(`SELECT state FROM ${this.t.executions} WHERE id = ?${this.pg ? ' FOR UPDATE' : ''}`, [executionId]);
      if (!root) throw new ExecutionNotFoundError(executionId);
      if (root.state !== 'pending' && root.state !== 'running') return { changed: false, state: root.state, cancelled: [] as string[] };
      const descendants = await this.activeDescendants(tx, executionId);
      await this.cancelAll(tx, [executionId], now, error);
      await this.cancelAll(tx, descendants, now);
      await this.reportToParent(tx, executionId, 'failed', null, error, now);
      return { changed: true, state: 'cancelled', cancelled: [executionId, ...descendants] };
    });
    for (const id of outcome.cancelled) this.bus.publish({ type: 'finished', executionId: id });
    this.announceWakes();
    return outcome;
  }

  async lookupCache(key: string, now: number): Promise<string | null> {
    const [row] = await this.client.query<{ result: string }>(
      `SELECT result FROM ${this.t.cache} WHERE cache_key = ? AND (expires_at IS NULL OR expires_at > ?)`,
      [key, now],
    );
    return row ? row.result : null;
  }

  // ---- dead letters --------------------------------------------------------------------------

  /**
   * Makes an execution active again: a failed one (retry, dead-letter replay) or a child that was
   * cancelled because its parent ended (revived with the parent). What its ending cancelled is restored,
   * and activity steps still marked running (an aborted attempt winding down) wait for a worker again:
   * the late outcome of that attempt no longer holds the lease and is dropped.
   */
  private async reviveWithin(tx: SqlExecutor, executionId: string, now: number, from: 'failed' | 'cancelled' = 'failed'): Promise<boolean> {
    const [row] = await tx.query<{ state: string }>(`SELECT state FROM ${this.t.executions} WHERE id = ?${this.pg ? ' FOR UPDATE' : ''}`, [executionId]);
    if (!row) throw new ExecutionNotFoundError(executionId);
    if (row.state !== from) {
      if (from === 'cancelled') return false;
      throw new ExecutionFinishedError(executionId, `${row.state}: only failed executions can be revived`);
    }
    await tx.execute(
      `UPDATE ${this.t.executions} SET state = 'running', result = NULL, error = NULL, finished_at = NULL, wake_at = ?, updated_at = ?,
         lease_owner = NULL, lease_expires_at = NULL, recoveries = 0 WHERE id = ?`,
      [now, now, executionId],
    );
    await tx.execute(
      `UPDATE ${this.t.steps} SET state = 'pending', available_at = ?, lease_owner = NULL, lease_expires_at = NULL
       WHERE execution_id = ? AND state = 'running' AND kind = 'activity'`,
      [now, executionId],
    );
    await this.restoreCancelled(tx, executionId, now);
    return true;
  }

  /**
   * Gives back what the end of an execution cancelled: activity steps wait for a worker again, timers,
   * signal waits and child waits wait again (and the child executions cancelled with them come back).
   */
  private async restoreCancelled(tx: SqlExecutor, executionId: string, now: number): Promise<void> {
    await tx.execute(
      `UPDATE ${this.t.steps} SET state = 'pending', available_at = ?, error = NULL, lease_owner = NULL, lease_expires_at = NULL, finished_at = NULL
       WHERE execution_id = ? AND state = 'cancelled' AND kind = 'activity'`,
      [now, executionId],
    );
    const children = await tx.query<{ child_execution_id: string | null }>(
      `SELECT child_execution_id FROM ${this.t.steps} WHERE execution_id = ? AND state = 'cancelled' AND kind = 'child'`,
      [executionId],
    );
    await tx.execute(`UPDATE ${this.t.steps} SET state = 'waiting', finished_at = NULL WHERE execution_id = ? AND state = 'cancelled'`, [executionId]);
    for (const { child_execution_id: childId } of children) if (childId) await this.reviveWithin(tx, childId, now, 'cancelled');
  }

  /**
   * Prepares the step at `position` of a failed execution to be retried. If the workflow saw that failure
   * (turn T), the steps it called from turn T on become tentative: finished ones are kept for the replay
   * to reuse if it repeats them, unfinished ones are dropped now. Returns the step, or null if none.
   */
  private async retryStepWithin(tx: SqlExecutor, executionId: string, position: number): Promise<{ id: string; kind: string } | null> {
    const [step] = await tx.query<{ id: string; kind: string; state: string; delivered_turn: unknown }>(
      `SELECT id, kind, state, delivered_turn FROM ${this.t.steps} WHERE execution_id = ? AND position = ?`,
      [executionId, position],
    );
    if (!step || step.state !== 'failed') return null;
    const seenAt = numOrNull(step.delivered_turn);
    if (seenAt !== null) {
      await this.discardWithin(tx, executionId, `call_turn >= ? AND position <> ? AND state NOT IN ('completed', 'failed')`, [seenAt, position]);
      await tx.execute(`UPDATE ${this.t.steps} SET delivered_turn = NULL, delivered_seq = NULL WHERE execution_id = ? AND delivered_turn >= ?`, [executionId, seenAt]);
      await tx.execute(`UPDATE ${this.t.steps} SET tentative = 1 WHERE execution_id = ? AND call_turn >= ? AND position <> ?`, [executionId, seenAt, position]);
    }
    await tx.execute(`UPDATE ${this.t.executions} SET revive_position = ? WHERE id = ?`, [position, executionId]);
    return { id: String(step.id), kind: step.kind };
  }

  private async retryFromWithin(tx: SqlExecutor, executionId: string, failedAt: { executionId: string; position: number }, now: number): Promise<boolean> {
    // The chain of executions from the one whose step failed up to `executionId`.
    const chain: Array<{ id: string; state: string; parentPosition: number | null; result: string | null }> = [];
    for (let id: string | null = failedAt.executionId; id !== null; ) {
      const rows: Array<{ id: string; state: string; parent_id: string | null; parent_position: unknown; result: string | null }> = await tx.query(
        `SELECT id, state, parent_id, parent_position, result FROM ${this.t.executions} WHERE id = ?${this.pg ? ' FOR UPDATE' : ''}`,
        [id],
      );
      const row = rows[0];
      if (!row) return false;
      chain.unshift({ id: String(row.id), state: row.state, parentPosition: numOrNull(row.parent_position), result: strOrNull(row.result) });
      if (row.id === executionId) break;
      id = row.parent_id;
    }
    if (chain[0]?.id !== executionId) return false;
    if (chain[0].state !== 'failed') throw new ExecutionFinishedError(executionId, `${chain[0].state}: only failed executions can be revived`);
    for (let i = 0; i < chain.length; i++) {
      const current = chain[i]!;
      const child = chain[i + 1];
      const position = child ? child.parentPosition! : failedAt.position;
      const step = await this.retryStepWithin(tx, current.id, position);
      if (!step) {
        if (i === 0) return false;
        throw new StentError(`Execution ${current.id} has no failed step at position ${position} to retry`);
      }
      if (!child) {
        await tx.execute(
          `UPDATE ${this.t.steps} SET state = 'pending', attempts = 0, recoveries = 0, result = NULL, error = NULL, available_at = ?,
             lease_owner = NULL, lease_expires_at = NULL, started_at = NULL, finished_at = NULL WHERE id = ?`,
          [now, step.id],
        );
        await tx.execute(`DELETE FROM ${this.t.deadLetters} WHERE step_id = ?`, [step.id]);
      } else if (child.state === 'cancelled' || child.state === 'timed_out') {
        throw new ExecutionFinishedError(child.id, `${child.state}: the child execution whose failure ended ${current.id} cannot be revived, so neither can it`);
      } else if (child.state === 'completed') {
        // Fixed and finished on its own meanwhile (say, its dead letter was replayed): hand its result over.
        await tx.execute(`UPDATE ${this.t.steps} SET state = 'completed', result = ?, error = NULL, finished_at = ? WHERE id = ?`, [child.result, now, step.id]);
      } else {
        await tx.execute(`UPDATE ${this.t.steps} SET state = 'waiting', error = NULL, finished_at = NULL WHERE id = ?`, [step.id]);
      }
      await this.reviveWithin(tx, current.id, now);
      if (child && child.state !== 'failed') break;
    }
    return true;
  }

  async retryFrom(executionId: string, failedAt: { executionId: string; position: number }, now: number): Promise<boolean> {
    const ok = await this.client.transaction((tx) => this.retryFromWithin(tx, executionId, failedAt, now));
    if (ok) this.bus.publish({ type: 'work' });
    return ok;
  }

  /** Deletes an execution and everything below it (steps, signals, dead letters, child executions). */
  private async deleteExecutionTree(tx: SqlExecutor, rootId: string): Promise<void> {
    const rows = await tx.query<{ id: string }>(
      `WITH RECURSIVE tree(id) AS (
         SELECT id FROM ${this.t.executions} WHERE id = ?
         UNION ALL
         SELECT e.id FROM ${this.t.executions} e JOIN tree ON e.parent_id = tree.id
       )
       SELECT id FROM tree`,
      [rootId],
    );
    const ids = rows.map((row) => String(row.id));
    if (ids.length === 0) return;
    for (const table of [this.t.steps, this.t.signals, this.t.deadLetters]) {
      const params: unknown[] = [];
      await tx.execute(`DELETE FROM ${table} WHERE ${this.inList('execution_id', ids, params)}`, params);
    }
    const params: unknown[] = [];
    await tx.execute(`DELETE FROM ${this.t.executions} WHERE ${this.inList('id', ids, params)}`, params);
  }

  async replayDeadLetter(deadLetterId: string, now: number): Promise<{ executionId: string }> {
    const executionId = await this.client.transaction(async (tx) => {
      const [letter] = await tx.query(`SELECT * FROM ${this.t.deadLetters} WHERE id = ?`, [deadLetterId]);
      if (!letter) throw new DeadLetterNotFoundError(deadLetterId);
      const record = deadLetterFromRow(letter);
      const [step] = record.stepId ? await tx.query<{ position: unknown }>(`SELECT position FROM ${this.t.steps} WHERE id = ?`, [record.stepId]) : [];
      const retried = step ? await this.retryFromWithin(tx, record.executionId, { executionId: record.executionId, position: num(step.position) }, now) : false;
      if (!retried) await this.reviveWithin(tx, record.executionId, now);
      await tx.execute(`DELETE FROM ${this.t.deadLetters} WHERE id = ?`, [deadLetterId]);
      return record.executionId;
    });
    this.bus.publish({ type: 'work' });
    return { executionId };
  }

  async discardDeadLetter(deadLetterId: string): Promise<void> {
    const deleted = await this.client.execute(`DELETE FROM ${this.t.deadLetters} WHERE id = ?`, [deadLetterId]);
    if (deleted === 0) throw new DeadLetterNotFoundError(deadLetterId);
  }

  async reviveExecution(executionId: string, now: number): Promise<void> {
    await this.client.transaction((tx) => this.reviveWithin(tx, executionId, now));
    this.bus.publish({ type: 'work' });
  }

  // ---- leases --------------------------------------------------------------------------------

  async renewLeases(owner: string, now: number, leaseMs: number, held: { executions: string[]; steps: string[] }): Promise<string[]> {
    // Separate autocommit statements: a renewal never holds locks while it waits for another row, so it
    // cannot deadlock with completions; rows being completed right now are skipped (they need no lease).
    // Only what the worker still holds is renewed: a lease on anything it dropped runs out on its own.
    const skip = this.pg ? ' FOR UPDATE SKIP LOCKED' : '';
    for (let start = 0; start < held.steps.length; start += 1000) {
      const params: unknown[] = [now + leaseMs, owner];
      const ids = this.inList('id', held.steps.slice(start, start + 1000), params);
      await this.client.execute(
        `UPDATE ${this.t.steps} SET lease_expires_at = ? WHERE id IN (SELECT id FROM ${this.t.steps} WHERE lease_owner = ? AND state = 'running' AND ${ids}${skip})`,
        params,
      );
    }
    for (let start = 0; start < held.executions.length; start += 1000) {
      const params: unknown[] = [now + leaseMs, owner];
      const ids = this.inList('id', held.executions.slice(start, start + 1000), params);
      await this.client.execute(
        `UPDATE ${this.t.executions} SET lease_expires_at = ? WHERE id IN (SELECT id FROM ${this.t.executions} WHERE lease_owner = ? AND ${ids}${skip})`,
        params,
      );
    }
    const ended = await this.client.query<{ id: string }>(
      `SELECT s.id FROM ${this.t.steps} s JOIN ${this.t.executions} e ON e.id = s.execution_id
       WHERE s.lease_owner = ? AND s.state = 'running' AND e.state NOT IN ${ACTIVE}`,
      [owner],
    );
    return ended.map((row) => String(row.id));
  }

  /** Running steps of executions that have ended meanwhile are cancelled, not handed to another worker. */
  private async cancelOrphanedSteps(tx: SqlExecutor, condition: string, params: unknown[], now: number): Promise<void> {
    await tx.execute(
      `UPDATE ${this.t.steps} SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, finished_at = ?
       WHERE state = 'running' AND ${condition}
         AND EXISTS (SELECT 1 FROM ${this.t.executions} e WHERE e.id = ${this.t.steps}.execution_id AND e.state NOT IN ${ACTIVE})`,
      [now, ...params],
    );
  }

  async releaseLeases(owner: string, now: number): Promise<void> {
    await this.client.transaction(async (tx) => {
      await this.cancelOrphanedSteps(tx, 'lease_owner = ?', [owner], now);
      await tx.execute(
        `UPDATE ${this.t.steps} SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, available_at = ?, attempts = attempts - 1
         WHERE lease_owner = ? AND state = 'running'`,
        [now, owner],
      );
      await tx.execute(
        `UPDATE ${this.t.executions} SET lease_owner = NULL, lease_expires_at = NULL, wake_at = ? WHERE lease_owner = ? AND state IN ${ACTIVE}`,
        [now, owner],
      );
    });
    this.bus.publish({ type: 'work' });
  }

  async reapExpiredLeases(now: number, maxRecoveries: number): Promise<ReapResult> {
    const result = await this.client.transaction(async (tx) => {
      await this.cancelOrphanedSteps(tx, 'lease_expires_at < ?', [now], now);
      const poisoned = await tx.query<{ id: string; execution_id: string }>(
        `SELECT id, execution_id FROM ${this.t.steps} WHERE state = 'running' AND lease_expires_at < ? AND recoveries + 1 >= ?${this.pg ? ' FOR UPDATE SKIP LOCKED' : ''}`,
        [now, maxRecoveries],
      );
      for (const step of poisoned) {
        await tx.execute(
          `UPDATE ${this.t.steps} SET state = 'failed', recoveries = recoveries + 1, lease_owner = NULL, lease_expires_at = NULL, finished_at = ?,
             error = COALESCE(error, ?) WHERE id = ?`,
          [now, JSON.stringify({ name: 'WorkerLostError', message: `The worker running this step stopped ${maxRecoveries} times; treated as a poison task` }), step.id],
        );
        await this.deadLetterStep(tx, step.id, 'poison: workers lost while running it', now);
        await this.wake(tx, step.execution_id, now);
      }
      const steps = await tx.execute(
        `UPDATE ${this.t.steps} SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, recoveries = recoveries + 1, available_at = ?
         WHERE state = 'running' AND lease_expires_at < ?`,
        [now, now],
      );
      const executions = await tx.execute(
        `UPDATE ${this.t.executions} SET lease_owner = NULL, lease_expires_at = NULL, wake_at = ?, recoveries = recoveries + 1
         WHERE lease_owner IS NOT NULL AND lease_expires_at < ? AND state IN ${ACTIVE}`,
        [now, now],
      );
      return { steps: steps + poisoned.length, executions, deadLettered: poisoned.length };
    });
    if (result.steps + result.executions > 0) this.bus.publish({ type: 'work' });
    return result;
  }

  async recordWorker(owner: string, info: { hostname: string; pid: number; queues: string[]; startedAt: number; now: number; state: string; joined?: boolean }): Promise<void> {
    await this.client.execute(
      `INSERT INTO ${this.t.workers} (id, hostname, pid, queues, state, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, heartbeat_at = excluded.heartbeat_at`,
      [owner, info.hostname, info.pid, JSON.stringify(info.queues), info.state, info.startedAt, info.now],
    );
    if (info.joined) this.bus.publish({ type: 'joined' });
  }

  async countPeers(owner: string, since: number): Promise<number> {
    const [row] = await this.client.query<{ n: unknown }>(
      `SELECT COUNT(*) AS n FROM ${this.t.workers} WHERE id <> ? AND state = 'running' AND heartbeat_at >= ?`,
      [owner, since],
    );
    return num(row?.n ?? 0);
  }

  async listDeadLetters(page: Page): Promise<{ items: DeadLetterRecord[]; total: number }> {
    const [count] = await this.client.query<{ total: unknown }>(`SELECT COUNT(*) AS total FROM ${this.t.deadLetters}`);
    const rows = await this.client.query(`SELECT * FROM ${this.t.deadLetters} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`, [page.limit ?? 50, page.offset ?? 0]);
    return { items: rows.map(deadLetterFromRow), total: num(count?.total ?? 0) };
  }

  async stats(now: number): Promise<StoreStats> {
    const executions: StoreStats['executions'] = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0, timed_out: 0 };
    const byState = await this.client.query<{ state: ExecutionState; n: unknown }>(`SELECT state, COUNT(*) AS n FROM ${this.t.executions} GROUP BY state`);
    for (const row of byState) executions[row.state] = num(row.n);
    const [activities] = await this.client.query<{ due: unknown; scheduled: unknown; running: unknown; oldest: unknown }>(
      `SELECT
         COALESCE(SUM(CASE WHEN state = 'pending' AND available_at <= ? THEN 1 ELSE 0 END), 0) AS due,
         COALESCE(SUM(CASE WHEN state = 'pending' AND available_at > ? THEN 1 ELSE 0 END), 0) AS scheduled,
         COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0) AS running,
         MIN(CASE WHEN state = 'pending' AND available_at <= ? THEN available_at END) AS oldest
       FROM ${this.t.steps} WHERE kind = 'activity' AND state IN ${ACTIVE}`,
      [now, now, now],
    );
    const [executionBacklog] = await this.client.query<{ oldest: unknown }>(
      `SELECT MIN(wake_at) AS oldest FROM ${this.t.executions} WHERE lease_owner IS NULL AND wake_at IS NOT NULL AND wake_at <= ? AND state IN ${ACTIVE}`,
      [now],
    );
    const [letters] = await this.client.query<{ total: unknown }>(`SELECT COUNT(*) AS total FROM ${this.t.deadLetters}`);
    const workers = await this.client.query(`SELECT * FROM ${this.t.workers} ORDER BY started_at, id`);
    const oldest = [numOrNull(activities?.oldest), numOrNull(executionBacklog?.oldest)].filter((value): value is number => value !== null);
    return {
      executions,
      activities: { due: num(activities?.due ?? 0), scheduled: num(activities?.scheduled ?? 0), running: num(activities?.running ?? 0) },
      deadLetters: num(letters?.total ?? 0),
      oldestDueAt: oldest.length ? Math.min(...oldest) : null,
      workers: workers.map((row) => ({
        id: String(row.id),
        hostname: String(row.hostname),
        pid: num(row.pid),
        queues: JSON.parse(String(row.queues)) as string[],
        state: String(row.state),
        startedAt: num(row.started_at),
        heartbeatAt: num(row.heartbeat_at),
      })),
    };
  }
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e?.message ?? '');
}
