import { ConfigurationError, ExecutionExistsError, IdempotencyConflictError, StentError, type ExecutionRecord, type ExternalTransaction, type NewExecution, type NewStep } from '../../core/index.js';
import { announceSteps } from '../wake-bus.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { externalExecutor } from '../clients/postgres-client.js';
import { listOf } from '../sql/dialect.js';
import { EXECUTION_READ, executionFromRow, INSERT_CHUNK, SQLITE_INSERT_ROWS, STEP_COLUMNS, stepParams } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { postgresStepsInsert, rowSourceFor, valuesSource, type RowSource } from '../sql/row-source.js';
import { ACTIVE } from '../sql/statements.js';
import { SharedDispatches } from './shared-dispatches.js';

/** Execution rows: created by dispatch (or as a child in a parent's transaction), read, and deleted as a tree. */
export class ExecutionsRepository {
  /** See birthStatement. */
  private readonly birthTexts = new Map<number, string>();
  /** See sqliteStepsInsert. */
  private readonly sqliteInserts = new Map<number, string>();
  /** See plainInsert: by row count, and whether the statement sends a NOTIFY. */
  private readonly plainTexts = new Map<string, string>();
  /** Where writes combine (PostgreSQL), plain dispatches of this process share statements. */
  private readonly shared: SharedDispatches | undefined;

  constructor(private readonly ctx: SqlContext) {
    if (ctx.dialect.combinesWrites) this.shared = new SharedDispatches((executions) => this.announcedInsert(executions));
  }

  async createExecution(execution: NewExecution, transaction?: ExternalTransaction): Promise<{ id: string; created: boolean; claimed: boolean }> {
    const { client } = this.ctx;
    const run = async (tx: SqlExecutor) => {
      const inserted = await this.insertExecution(tx, execution);
      if (inserted.created) return { id: execution.id, created: true, claimed: inserted.claimed };
      return this.existing(tx, execution);
    };
    let result: { id: string; created: boolean; claimed: boolean };
    // A shared insert announced its executions itself, with its commit (see announcedInsert).
    let carried = false;
    try {
      if (this.shared && (transaction === undefined || transaction === null) && !execution.claimedBy) {
        const { created, announced } = await this.shared.insert(execution);
        carried = announced;
        result = created ? { id: execution.id, created: true, claimed: false } : await this.existing(client, execution);
      } else if (transaction !== undefined && transaction !== null) {
        if (typeof (transaction as { query?: unknown }).query !== 'function') {
          throw new ConfigurationError('dispatch: transaction must be a TypeORM EntityManager (or anything with query(sql, params))');
        }
        result = await run(externalExecutor(transaction as { query(sql: string, params?: unknown[]): Promise<unknown> }, client.dialect));
      } else {
        result = await run(client);
      }
    } catch (error) {
      if (isUniqueViolation(error)) throw new ExecutionExistsError(execution.id);
      throw error;
    }
    if (result.created && transaction === undefined && !result.claimed) this.ctx.bus.publish({ type: 'work', of: 'executions' }, carried);
    return result;
  }

  /**
   * plainInsert for shared dispatches: the statement also sends, with its commit, the NOTIFY announcing
   * the work to other processes when it inserted any (no NOTIFY of its own: a commit, and the cluster's
   * notification lock, each).
   */
  private async announcedInsert(executions: NewExecution[]): Promise<{ inserted: Set<string>; announced: boolean }> {
    const frame = this.ctx.bus.finishedNotice?.();
    const notice = frame && { channel: frame.channel, payload: `${frame.head}{"type":"work","of":"executions"}${frame.tail}` };
    return { inserted: await this.plainInsert(this.ctx.client, executions, notice), announced: notice !== undefined };
  }

  /** The execution holding `execution`'s idempotency key (its insert found the key taken). */
  private async existing(tx: SqlExecutor, execution: NewExecution): Promise<{ id: string; created: false; claimed: false }> {
    const [existing] = await tx.query<{ id: string; workflow_name: string }>(`SELECT id, workflow_name FROM ${this.ctx.t.executions} WHERE idempotency_key = ?`, [
      execution.idempotencyKey,
    ]);
    if (!existing) throw new StentError(`Could not create execution '${execution.id}'`);
    // A key is scoped to its workflow: the first dispatch's arguments win, another workflow's is refused.
    if (existing.workflow_name !== execution.workflowName) {
      throw new IdempotencyConflictError(execution.idempotencyKey!, existing.id, existing.workflow_name, execution.workflowName);
    }
    return { id: existing.id, created: false, claimed: false };
  }

  /**
   * A local dispatch's execution, inserted claimed (as insertExecution decides) together with the first
   * steps its run recorded, in one commit: one statement on PostgreSQL, one transaction on SQLite. The
   * steps go in only if the execution went in claimed; `claimed` false means none did. Plain steps only
   * (no child, no effect, at most INSERT_CHUNK): anything else is refused and written the ordinary way.
   */
  async createWithSteps(execution: NewExecution, steps: NewStep[]): Promise<{ id: string; created: boolean; claimed: boolean }> {
    const { client, dialect, t } = this.ctx;
    const claim = execution.claimedBy;
    if (!claim || steps.length > INSERT_CHUNK || steps.some((step) => step.child || step.effect || step.executionId !== execution.id)) {
      throw new StentError(`createWithSteps: execution '${execution.id}' must be claimed and its steps plain`);
    }
    let result: { id: string; created: boolean; claimed: boolean };
    if (dialect.combinesWrites) {
      const { sql, params } = this.claimedInsert(execution, claim);
      const source = rowSourceFor(steps.length, true);
      source.push(STEP_COLUMNS.length, steps.map((step) => stepParams(step, true)), params);
      const [answer] = await client.query<{ created: number | string; owner: string | null; inserted: number | string }>(this.birthStatement(sql, steps.length, source), params);
      const claimed = answer?.owner === claim.owner;
      if (claimed && Number(answer!.inserted) !== steps.length) throw new StentError(`Execution '${execution.id}': ${String(answer!.inserted)} of ${steps.length} first steps inserted`);
      result = Number(answer?.created) > 0 ? { id: execution.id, created: true, claimed } : await this.existing(client, execution);
    } else {
      result = await client.transaction(async (tx) => {
        const inserted = await this.insertExecution(tx, execution);
        if (!inserted.created) return this.existing(tx, execution);
        if (inserted.claimed) {
          for (let start = 0; start < steps.length; start += SQLITE_INSERT_ROWS) {
            const chunk = steps.slice(start, start + SQLITE_INSERT_ROWS);
            const params: unknown[] = [];
            for (const step of chunk) params.push(...stepParams(step));
            await tx.execute(this.sqliteStepsInsert(chunk.length), params);
          }
        }
        return { id: execution.id, created: true, claimed: inserted.claimed };
      });
    }
    if (result.created && !result.claimed) this.ctx.bus.publish({ type: 'work', of: 'executions' });
    if (result.claimed) this.ctx.insertedCalls?.remember(steps);
    if (result.claimed) announceSteps(this.ctx.bus, steps);
    return result;
  }

  /** SQLite's insert of `count` (at most SQLITE_INSERT_ROWS) steps, each row stepParams; built once per count. */
  sqliteStepsInsert(count: number): string {
    let text = this.sqliteInserts.get(count);
    if (text === undefined) {
      const row = `(${STEP_COLUMNS.map(() => '?').join(', ')})`;
      text = `INSERT INTO ${this.ctx.t.steps} (${STEP_COLUMNS.join(', ')}) VALUES ${Array<string>(count).fill(row).join(', ')}`;
      this.sqliteInserts.set(count, text);
    }
    return text;
  }

  /**
   * PostgreSQL's statement inserting an execution (`insert`, claimedInsert's text) and `count` steps if it
   * went in claimed. Texts are kept (one per count up to VALUES_MAX_ROWS, one for arrays): one string object
   * per shape, which the client finds its prepared statement by without hashing a few kilobytes of new text
   * at every dispatch.
   */
  private birthStatement(insert: string, count: number, source: RowSource): string {
    // One text for every count that reads arrays (kept under 0, a count a birth never has).
    const key = source === valuesSource ? count : 0;
    const kept = this.birthTexts.get(key);
    if (kept !== undefined) return kept;
    const text = `WITH ex AS (${insert} RETURNING lease_owner),
       ins AS (
         ${postgresStepsInsert(this.ctx.t.steps, source, count)}
         WHERE EXISTS (SELECT 1 FROM ex WHERE ex.lease_owner IS NOT NULL)
         RETURNING id
       )
       SELECT (SELECT COUNT(*) FROM ex) AS created, (SELECT lease_owner FROM ex) AS owner, (SELECT COUNT(*) FROM ins) AS inserted`;
    this.birthTexts.set(key, text);
    return text;
  }

  /**
   * Inserts an execution; created=false when its idempotency key is already taken. With `claimedBy` it is
   * inserted claimed, unless an older execution of at least its priority is waiting on its queue (that one
   * goes first) or its queue or workflow type is paused: the same statement decides, so no backlog can slip in between.
   */
  async insertExecution(tx: SqlExecutor, execution: NewExecution): Promise<{ created: boolean; claimed: boolean }> {
    const { t } = this.ctx;
    const claim = execution.claimedBy;
    if (!claim) return { created: (await this.plainInsert(tx, [execution])).has(execution.id), claimed: false };
    const { sql, params } = this.claimedInsert(execution, claim);
    const rows = await tx.query<{ lease_owner: string | null }>(`${sql} RETURNING lease_owner`, params);
    return { created: rows.length > 0, claimed: rows[0]?.lease_owner === claim.owner };
  }

  /**
   * Inserts unclaimed executions, pending, in one statement; returns the ids that went in (a row whose
   * idempotency key is taken, by an older execution or an earlier row, is left out). Texts by row count are
   * kept, as in birthStatement.
   */
  private async plainInsert(tx: SqlExecutor, executions: NewExecution[], notice?: { channel: string; payload: string }): Promise<Set<string>> {
    const shape = `${executions.length}:${notice ? 'notify' : ''}`;
    let text = this.plainTexts.get(shape);
    if (text === undefined) {
      const row = `(?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0, NULL, ?, NULL, ?, ?, ?)`;
      const insert = `INSERT INTO ${this.ctx.t.executions} (${EXECUTION_COLUMNS})
         VALUES ${Array<string>(executions.length).fill(row).join(', ')}
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING id`;
      // The NOTIFY goes out only if a row went in; its CTE is read by the query, or it would not run.
      text = notice
        ? `WITH ins AS (${insert}), note AS (SELECT pg_notify(?, ?) FROM (SELECT 1 FROM ins LIMIT 1) one)
           SELECT id FROM ins UNION ALL SELECT NULL AS id FROM note`
        : insert;
      this.plainTexts.set(shape, text);
    }
    const params: unknown[] = [];
    for (const execution of executions) {
      params.push(...commonParams(execution), execution.wakeAt, execution.deadlineAt, execution.maxDurationMs, execution.traceContext ?? null, execution.continuedFrom ?? null, execution.concurrencyKey ?? null, execution.rateKey ?? null);
    }
    if (notice) params.push(notice.channel, notice.payload);
    const rows = await tx.query<{ id: unknown }>(text, params);
    return new Set(rows.filter((row) => row.id !== null && row.id !== undefined).map((row) => String(row.id)));
  }

  /**
   * The INSERT (without RETURNING) of an execution claimed by `claim` unless an older execution of at least
   * its priority waits on its queue or its queue or workflow type is paused (see insertExecution). The
   * waiting execution is looked for in claim order, not with EXISTS: PostgreSQL's generic plan of an EXISTS
   * expected a match within a few rows and scanned the whole table for one (a backlog of another queue made
   * a dispatch take 140 ms); ordered, it reads the claim-order index from the queue's first entry.
   */
  private claimedInsert(execution: NewExecution, claim: NonNullable<NewExecution['claimedBy']>): { sql: string; params: unknown[] } {
    const { t } = this.ctx;
    // Inserted claimed: its lease runs on the lease clock (see Dialect.leaseNow).
    const relative = this.ctx.dialect.leaseClockInDatabase;
    const leaseUntil = relative ? `${this.ctx.dialect.leaseNow(0, [])} + CAST(? AS BIGINT)` : 'CAST(? AS BIGINT)';
    return {
      sql: `INSERT INTO ${t.executions} (${EXECUTION_COLUMNS})
       SELECT ?, ?, CASE WHEN b.busy THEN 'pending' ELSE 'running' END, ?, ?, CAST(? AS INTEGER), ?, ?, CAST(? AS INTEGER), ?, CAST(? AS BIGINT), CAST(? AS BIGINT),
              CASE WHEN b.busy THEN CAST(? AS BIGINT) ELSE NULL END, CAST(? AS BIGINT), CAST(? AS BIGINT),
              CASE WHEN b.busy THEN NULL ELSE CAST(? AS BIGINT) END, CASE WHEN b.busy THEN NULL ELSE ? END,
              CASE WHEN b.busy THEN 0 ELSE 1 END, CASE WHEN b.busy THEN NULL ELSE ${leaseUntil} END, CAST(? AS TEXT),
              CASE WHEN b.busy THEN NULL ELSE CAST(? AS INTEGER) END, CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS VARCHAR)
       FROM (SELECT ((
               SELECT 1 FROM ${t.executions} c
               WHERE c.lease_owner IS NULL AND c.wake_at IS NOT NULL AND c.wake_at <= ? AND c.state IN ${ACTIVE} AND c.queue = ? AND c.priority >= ?
               ORDER BY c.queue, c.priority DESC, c.wake_at LIMIT 1
             ) IS NOT NULL OR EXISTS (SELECT 1 FROM ${t.pauses} p WHERE (p.kind = 'queue' AND p.name = ?) OR (p.kind = 'workflow' AND p.name = ?))) AS busy${this.ctx.dialect.computedOnce}) b
       WHERE true
       ON CONFLICT (idempotency_key) DO NOTHING`,
      params: [
        ...commonParams(execution),
        execution.wakeAt,
        execution.deadlineAt,
        execution.maxDurationMs,
        execution.createdAt,
        claim.owner,
        relative ? claim.leaseExpiresAt - execution.createdAt : claim.leaseExpiresAt,
        execution.traceContext ?? null,
        execution.workflowVersion ?? null,
        execution.continuedFrom ?? null,
        execution.concurrencyKey ?? null,
        execution.rateKey ?? null,
        execution.createdAt,
        execution.queue,
        execution.priority,
        execution.queue,
        execution.workflowName,
      ],
    };
  }

  async getExecution(id: string): Promise<ExecutionRecord | null> {
    const rows = await this.ctx.client.query(`SELECT ${listOf(EXECUTION_READ)} FROM ${this.ctx.t.executions} WHERE id = ?`, [id]);
    return rows[0] ? executionFromRow(rows[0]) : null;
  }

  /** Which of `ids` are final (completed, failed, cancelled, timed out). */
  async finalAmong(ids: string[]): Promise<string[]> {
    const { t, dialect } = this.ctx;
    const params: unknown[] = [];
    const rows = await this.ctx.client.query(`SELECT id FROM ${t.executions} WHERE ${dialect.inList('id', ids, params)} AND state NOT IN ${ACTIVE}`, params);
    return rows.map((row) => String(row.id));
  }

  /** Deletes an execution and everything below it (steps, signals, dead letters, events, streams, child executions). */
  async deleteExecutionTree(tx: SqlExecutor, rootId: string): Promise<void> {
    const { t, dialect } = this.ctx;
    const rows = await tx.query<{ id: string }>(
      `WITH RECURSIVE tree(id) AS (
         SELECT id FROM ${t.executions} WHERE id = ?
         UNION ALL
         SELECT e.id FROM tree CROSS JOIN ${t.executions} e WHERE e.parent_id = tree.id
       )
       SELECT id FROM tree`,
      [rootId],
    );
    const ids = rows.map((row) => String(row.id));
    if (ids.length === 0) return;
    for (const table of [t.steps, t.signals, t.deadLetters, t.events, t.streams]) {
      const params: unknown[] = [];
      await tx.execute(`DELETE FROM ${table} WHERE ${dialect.inList('execution_id', ids, params)}`, params);
    }
    const params: unknown[] = [];
    await tx.execute(`DELETE FROM ${t.executions} WHERE ${dialect.inList('id', ids, params)}`, params);
  }
}

/** Whether a database error is a unique-key violation (an id or key already taken). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e?.message ?? '');
}

const EXECUTION_COLUMNS = `id, workflow_name, state, args, queue, priority, tags, parent_id, parent_position, idempotency_key, created_at, updated_at, wake_at, deadline_at, max_duration_ms,
         started_at, lease_owner, lease_epoch, lease_expires_at, trace_context, workflow_version, continued_from, concurrency_key, rate_key`;

/** The first values of an execution's insert, in EXECUTION_COLUMNS order (both inserts share them). */
function commonParams(execution: NewExecution): unknown[] {
  return [
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
}
