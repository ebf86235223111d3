import type { DeliveryRecord, ExecutionFence, LocalCompletion, NewStep, StepRecord } from '../../core/index.js';
import { announceSteps } from '../wake-bus.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { listOf } from '../sql/dialect.js';
import { INSERT_CHUNK, SQLITE_INSERT_ROWS, STEP_COLUMNS, STEP_READ, stepFromRow, stepParams } from '../sql/rows.js';
import { postgresStepsInsert, rowSourceFor } from '../sql/row-source.js';
import type { SqlContext } from '../sql/sql-context.js';
import { EXECUTION_FENCE, fenceParams, holdsFence } from '../sql/statements.js';
import type { EffectsRepository } from './effects.js';
import type { ExecutionsRepository } from './executions.js';
import { SharedWrites } from './shared-writes.js';
import type { StepCompletions } from './step-completions.js';
import type { StepDiscard } from './step-discard.js';
import { storing } from '../sql/unstorable.js';

/** An execution's journal: its steps, read in position order, appended under the execution's fence. */
export class JournalRepository {
  /** Plain inserts and simple endings of many runs in shared statements (PostgreSQL; see SharedWrites). */
  readonly shared: SharedWrites;
  private readonly fencedInserts = new Map<number, string>();

  constructor(
    private readonly ctx: SqlContext,
    private readonly executions: ExecutionsRepository,
    private readonly completions: StepCompletions,
    private readonly effects: EffectsRepository,
    private readonly discard: StepDiscard,
  ) {
    this.shared = new SharedWrites(ctx, () => ctx.bus.finishedNotice?.());
  }

  async load(executionId: string): Promise<StepRecord[]> {
    const rows = await this.ctx.client.query(`SELECT ${listOf(STEP_READ)} FROM ${this.ctx.t.steps} WHERE execution_id = ? ORDER BY position`, [executionId]);
    return rows.map(stepFromRow);
  }

  async loadSteps(executionId: string, positions: number[]): Promise<StepRecord[]> {
    if (positions.length === 0) return [];
    const params: unknown[] = [executionId];
    const rows = await this.ctx.client.query(
      `SELECT ${listOf(STEP_READ)} FROM ${this.ctx.t.steps} WHERE execution_id = ? AND ${this.ctx.dialect.inList('position', positions, params)}`,
      params,
    );
    return rows.map(stepFromRow);
  }

  /**
   * The rows at `positions` of several executions, in one statement per group: a worker re-reading the
   * waits of many runs woken at once sends one query instead of one per run. A group reads every listed
   * execution at every listed position (fixed-shape statements, so they stay prepared) and keeps the
   * asked pairs; groups are sized so that this over-read stays small.
   */
  async loadStepsOf(requests: Array<{ executionId: string; positions: number[] }>): Promise<StepRecord[]> {
    const asked = requests.filter((request) => request.positions.length > 0);
    if (asked.length === 1) return this.loadSteps(asked[0]!.executionId, asked[0]!.positions);
    const found: StepRecord[] = [];
    for (const group of readGroups(asked)) {
      const wanted = new Map<string, Set<number>>();
      for (const { executionId, positions } of group) wanted.set(executionId, new Set([...(wanted.get(executionId) ?? []), ...positions]));
      const positions = [...new Set(group.flatMap((request) => request.positions))];
      const params: unknown[] = [];
      const rows = await this.ctx.client.query(
        `SELECT ${listOf(STEP_READ)} FROM ${this.ctx.t.steps} WHERE ${this.ctx.dialect.inList('execution_id', [...wanted.keys()], params)} AND ${this.ctx.dialect.inList('position', positions, params)}`,
        params,
      );
      for (const step of rows.map(stepFromRow)) if (wanted.get(step.executionId)?.has(step.position)) found.push(step);
    }
    return found;
  }

  /**
   * Appends steps for an execution the caller owns, with the delivery order and the results the workflow
   * already used, in one transaction. False if the fence is stale or a result's step is no longer owned.
   */
  async insert(fence: ExecutionFence, steps: NewStep[], deliveries: DeliveryRecord[] = [], completions: LocalCompletion[] = []): Promise<boolean> {
    if (steps.length === 0 && deliveries.length === 0 && completions.length === 0) return true;
    const { client, dialect, t } = this.ctx;
    const plain = dialect.combinesWrites && deliveries.length === 0 && steps.length > 0 && steps.length <= INSERT_CHUNK && steps.every((step) => !step.child && !step.effect);
    let carried = false;
    const ok = await storing(`A journal step of execution ${fence.executionId}`, () => plain
      ? this.shared.insert(fence, steps, completions).then(({ ok, announced }) => {
          carried = announced;
          return ok;
        })
      : client.transaction(async (tx) => {
          if (!(await this.completions.completeLocal(tx, completions))) return false;
          // Steps alone (SQLite's usual write) carry the fence in their INSERT: one statement fewer per step.
          const fencedInsert = dialect.name === 'sqlite' && deliveries.length === 0 && steps.length > 0 && steps.every((step) => !step.child && !step.effect);
          if (!fencedInsert && !(await holdsFence(this.ctx, tx, fence, steps[0]?.createdAt ?? Date.now()))) return false;
          await this.recordDeliveries(tx, fence.executionId, deliveries);
          for (const step of steps) if (step.child) await this.executions.insertExecution(tx, step.child);
          const chunkRows = dialect.name === 'sqlite' ? SQLITE_INSERT_ROWS : INSERT_CHUNK;
          for (let start = 0; start < steps.length; start += chunkRows) {
            const chunk = steps.slice(start, start + chunkRows);
            const params: unknown[] = [];
            if (fencedInsert) {
              for (const step of chunk) params.push(...stepParams(step));
              params.push(...fenceParams(fence));
              // The transaction holds the write lock, so the fence cannot change between chunks: a stale
              // writer inserts nothing and learns it from the count.
              if ((await tx.execute(this.fencedInsertSql(chunk.length), params)) !== chunk.length) return false;
              continue;
            }
            if (dialect.name === 'postgres') {
              // Arrays beyond a few rows (a fan-out's part): one prepared text, a parameter a column (see RowSource).
              const source = rowSourceFor(chunk.length, true);
              source.push(STEP_COLUMNS.length, chunk.map((step) => stepParams(step, true)), params);
              await tx.execute(postgresStepsInsert(t.steps, source, chunk.length), params);
              continue;
            }
            for (const step of chunk) params.push(...stepParams(step));
            await tx.execute(this.executions.sqliteStepsInsert(chunk.length), params);
          }
          for (const step of steps) if (step.effect) await this.effects.apply(tx, fence.executionId, step.effect, step.position, step.createdAt);
          return true;
        }));
    if (ok) this.ctx.insertedCalls?.remember(steps);
    // A shared statement announced its pending steps itself, with its commit (see SharedWrites).
    if (ok) announceSteps(this.ctx.bus, steps, carried);
    if (ok && steps.some((step) => step.child)) this.ctx.bus.publish({ type: 'work', of: 'executions' });
    if (ok && steps.some((step) => step.effect?.kind === 'event' || step.effect?.kind === 'stream')) this.ctx.bus.publish({ type: 'published', executionId: fence.executionId });
    return ok;
  }

  /**
   * SQLite's insert of `count` steps that inserts them only while the execution's fence holds (params:
   * each step's stepParams, then fenceParams), at most SQLITE_INSERT_ROWS. Texts are kept by count: built
   * once, and the same string also spares the client hashing a new one to find its prepared statement.
   */
  private fencedInsertSql(count: number): string {
    const kept = this.fencedInserts.get(count);
    if (kept) return kept;
    const row = `(${STEP_COLUMNS.map(() => '?').join(', ')})`;
    const sql = `INSERT INTO ${this.ctx.t.steps} (${STEP_COLUMNS.join(', ')}) SELECT * FROM (VALUES ${Array<string>(count).fill(row).join(', ')})
      WHERE EXISTS (SELECT 1 FROM ${this.ctx.t.executions} WHERE ${EXECUTION_FENCE})`;
    this.fencedInserts.set(count, sql);
    return sql;
  }

  /** Writes the order in which the workflow was handed its steps' outcomes, one statement a part of INSERT_CHUNK (see Dialect.deliveryOrder). */
  async recordDeliveries(tx: SqlExecutor, executionId: string, deliveries: DeliveryRecord[]): Promise<void> {
    const { t, dialect } = this.ctx;
    for (let start = 0; start < deliveries.length; start += INSERT_CHUNK) {
      const { sql, params } = dialect.deliveryOrder(t.steps, executionId, deliveries.slice(start, start + INSERT_CHUNK));
      await tx.execute(sql, params);
    }
  }

  /** Drops tentative steps the replay did not repeat; with `reviveSettled`, no step is tentative any more. */
  async discardSteps(fence: ExecutionFence, positions: number[], reviveSettled = false): Promise<boolean> {
    if (positions.length === 0 && !reviveSettled) return true;
    return this.ctx.client.transaction(async (tx) => {
      if (!(await holdsFence(this.ctx, tx, fence, Date.now()))) return false;
      if (positions.length > 0) await this.discard.atPositions(tx, fence.executionId, positions);
      if (reviveSettled) await tx.execute(`UPDATE ${this.ctx.t.executions} SET revive_position = NULL WHERE id = ?`, [fence.executionId]);
      return true;
    });
  }

  /** Tentative steps the replay repeated are part of the journal again. */
  async confirmSteps(fence: ExecutionFence, positions: number[]): Promise<boolean> {
    if (positions.length === 0) return true;
    return this.ctx.client.transaction(async (tx) => {
      if (!(await holdsFence(this.ctx, tx, fence, Date.now()))) return false;
      const params: unknown[] = [fence.executionId];
      await tx.execute(`UPDATE ${this.ctx.t.steps} SET tentative = 0 WHERE execution_id = ? AND ${this.ctx.dialect.inList('position', positions, params)}`, params);
      return true;
    });
  }

  /** Records a finished waiting step (a timer that fired, a value) for an owned execution. */
  async resolveStep(fence: ExecutionFence, position: number, state: 'completed' | 'failed', result: string | null, error: string | null, now: number): Promise<boolean> {
    return this.ctx.client.transaction(async (tx) => {
      if (!(await holdsFence(this.ctx, tx, fence, now))) return false;
      await tx.execute(
        `UPDATE ${this.ctx.t.steps} SET state = ?, result = ?, error = ?, finished_at = ? WHERE execution_id = ? AND position = ? AND state IN ('pending', 'waiting')`,
        [state, result, error, now, fence.executionId, position],
      );
      return true;
    });
  }
}

/** Most rows one grouped read may return (executions x distinct positions of its group). */
const GROUP_CELLS = 2_000;

/** Splits reads into groups whose executions x positions product stays under GROUP_CELLS. */
function readGroups<T extends { executionId: string; positions: number[] }>(requests: T[]): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let positions = new Set<number>();
  for (const request of requests) {
    const merged = new Set([...positions, ...request.positions]);
    if (group.length > 0 && (group.length + 1) * merged.size > GROUP_CELLS) {
      groups.push(group);
      group = [];
      positions = new Set(request.positions);
    } else {
      positions = merged;
    }
    group.push(request);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
