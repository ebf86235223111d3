import type { LocalCompletion, SlotHandOff, StepCompletion, StepRecord } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { num, stepFromRow } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { storing } from '../sql/unstorable.js';
import { ACTIVE, COMPLETION_TYPES, completedStep, completionValues, NO_LEASE, stepStillOwned, WAKE_NOW } from '../sql/statements.js';
import type { CacheRepository } from './cache.js';
import type { DeadLettersRepository } from './dead-letters.js';
import { parkStep } from './flow-limits.js';
import { handOffSlots, handOffUpdate } from './slot-hand-off.js';

/** At most this many results in one statement (PostgreSQL binds at most 65,535 parameters). */
const COMPLETION_PART = 1000;

/**
 * Outcomes of activity attempts: recorded only while the attempt's lease still holds (a worker that lost
 * it changes nothing), then the execution is woken so whoever holds it, or claims it next, goes on.
 * A wake is announced as work of executions (an execution nobody holds is there to claim) and as `woken`
 * to its holder: not as steps, which a result does not add; a capped or keyed slot it frees is looked for
 * by the worker that ran the attempt (ActivityRunner.finished).
 */
export class StepCompletions {
  private completeOneSql: string | undefined;
  /** completePlainBatch's statement texts by number of results. */
  private readonly plainBatchTexts = new Map<number, string>();

  constructor(
    private readonly ctx: SqlContext,
    private readonly cache: CacheRepository,
    private readonly deadLetters: DeadLettersRepository,
  ) {}

  /**
   * Records attempt outcomes; returns, per completion, whether the fence still held. A value the database
   * refuses fails the call with an UnstorableValueError (the caller writes the others on their own).
   */
  complete(completions: StepCompletion[]): Promise<boolean[]> {
    return storing(completions.length === 1 ? `The outcome of step ${completions[0]!.fence.stepId}` : 'An attempt outcome', () => this.completeAll(completions));
  }

  /** complete(), handing off the slots of keyed steps among `completions` in the same transaction (see SlotHandOff). */
  async completeHandingOff(completions: StepCompletion[], handOff: SlotHandOff): Promise<{ owned: boolean[]; started: StepRecord[] }> {
    const describe = completions.length === 1 ? `The outcome of step ${completions[0]!.fence.stepId}` : 'An attempt outcome';
    return storing(describe, async () => {
      const started: StepRecord[] = [];
      const owned = await this.completeAll(completions, { handOff, started });
      return { owned, started };
    });
  }

  private async completeAll(completions: StepCompletion[], handing?: { handOff: SlotHandOff; started: StepRecord[] }): Promise<boolean[]> {
    const { client, dialect } = this.ctx;
    const only = completions.length === 1 ? completions[0]! : undefined;
    if (dialect.combinesWrites && only && only.outcome.kind === 'completed' && !only.outcome.cache && (!handing || handing.handOff.slots.length === 1)) {
      return [await this.completeOne(only, handing)];
    }
    const woken = new Set<string>();
    // A fixed lock order (step rows by id, then execution rows) keeps concurrent batches from deadlocking.
    const order = completions.map((completion, index) => ({ completion, index })).sort((a, b) => (a.completion.fence.stepId < b.completion.fence.stepId ? -1 : 1));
    if (dialect.combinesWrites && completions.length <= COMPLETION_PART && completions.every(isPlain)) {
      return this.completePlainBatch(order);
    }
    const results = await client.transaction(async (tx) => {
      const out: boolean[] = new Array(completions.length).fill(false);
      const toWake: Array<{ executionId: string; force: boolean; now: number }> = [];
      let rest = order;
      if (dialect.combinesWrites) {
        // Plain completions of a batch in few statements (PostgreSQL spends more per statement than per row).
        const plain = order.filter(({ completion }) => isPlain(completion));
        if (plain.length > 1) {
          rest = order.filter(({ completion }) => !isPlain(completion));
          const changed = new Set<string>();
          for (let start = 0; start < plain.length; start += COMPLETION_PART) {
            const part = plain.slice(start, start + COMPLETION_PART).map(({ completion }) => ({
              fence: completion.fence,
              result: (completion.outcome as { result: string }).result,
              finishedAt: completion.finishedAt,
            }));
            for (const id of await this.completePlain(tx, part)) changed.add(id);
          }
          for (const { completion, index } of plain) {
            out[index] = changed.has(completion.fence.stepId);
            if (out[index]) toWake.push({ executionId: completion.executionId, force: completion.wakeExecution, now: completion.finishedAt });
          }
        }
      }
      for (const { completion, index } of rest) {
        const changed = await this.record(tx, completion);
        out[index] = changed;
        if (changed && completion.outcome.kind !== 'retry' && completion.outcome.kind !== 'parked') toWake.push({ executionId: completion.executionId, force: completion.wakeExecution, now: completion.finishedAt });
      }
      for (const id of await this.wakeAll(tx, toWake)) woken.add(id);
      if (handing) {
        const recorded = new Set(completions.filter((completion, i) => out[i] && completion.outcome.kind === 'completed').map((completion) => completion.fence.stepId));
        handing.started.push(...(await handOffSlots(this.ctx, tx, handing.handOff, recorded)));
      }
      return out;
    });
    for (const executionId of woken) this.ctx.bus.publish({ type: 'woken', executionId });
    if (woken.size > 0) this.ctx.bus.publish({ type: 'work', of: 'executions' });
    return results;
  }

  /** Records results a workflow already used; false if any of their steps is no longer owned. */
  async completeLocal(tx: SqlExecutor, completions: LocalCompletion[]): Promise<boolean> {
    if (this.ctx.dialect.combinesWrites && completions.length > 1) {
      // In statements of many rows (a wide fan-out's write can carry hundreds), in the batches' lock order.
      const sorted = [...completions].sort((a, b) => (a.fence.stepId < b.fence.stepId ? -1 : 1));
      let recorded = 0;
      for (let start = 0; start < sorted.length; start += COMPLETION_PART) recorded += (await this.completePlain(tx, sorted.slice(start, start + COMPLETION_PART))).size;
      return recorded === completions.length;
    }
    let all = true;
    const sql = this.completedSql();
    for (const { fence, result, finishedAt } of completions) {
      const changed = await tx.execute(sql, [
        result,
        finishedAt,
        fence.stepId,
        fence.owner,
        fence.epoch,
      ]);
      if (changed !== 1) all = false;
    }
    return all;
  }

  /**
   * A result recorded while its step's lease holds. Built once: it runs at every step, and the same string
   * saves the client hashing a new one.
   */
  private completedSql(): string {
    return (this.completeOneSql ??= `UPDATE ${this.ctx.t.steps} SET ${completedStep()} WHERE ${stepStillOwned()}`);
  }

  /** Several successful attempts in one statement; returns the ids of the steps still owned (now recorded). */
  private async completePlain(tx: SqlExecutor, completions: LocalCompletion[]): Promise<Set<string>> {
    const params: unknown[] = [];
    const values = completionValues(this.ctx.dialect, completions, params);
    const done = await tx.query<{ id: string }>(
      `UPDATE ${this.ctx.t.steps} s SET ${completedStep('v.result', 'v.finished_at')}
       FROM (VALUES ${values}) AS v(id, owner, epoch, result, finished_at)
       WHERE ${stepStillOwned('s', 'v')}
       RETURNING s.id`,
      params,
    );
    return new Set(done.map((row) => String(row.id)));
  }

  /** One attempt's outcome: its result, a retry later, or a failure for good (dead-lettered). */
  private async record(tx: SqlExecutor, completion: StepCompletion): Promise<boolean> {
    const { t } = this.ctx;
    const { fence, outcome, finishedAt } = completion;
    if (outcome.kind === 'completed') {
      const changed = await tx.execute(this.completedSql(), [outcome.result, finishedAt, fence.stepId, fence.owner, fence.epoch]);
      if (changed === 1 && outcome.cache) await this.cache.store(tx, fence.stepId, outcome.cache, outcome.result, finishedAt);
      return changed === 1;
    }
    const guard = `WHERE ${stepStillOwned()}`;
    const guardParams = [fence.stepId, fence.owner, fence.epoch];
    let changed: number;
    // An attempt of an execution that already ended (cancelled, timed out) is not retried or dead-lettered.
    const [owner] = await tx.query<{ state: string }>(`SELECT state FROM ${t.executions} WHERE id = ?`, [completion.executionId]);
    const ended = !owner || (owner.state !== 'pending' && owner.state !== 'running');
    if (ended) {
      changed = await tx.execute(`UPDATE ${t.steps} SET state = 'cancelled', error = ?, ${NO_LEASE}, finished_at = ? ${guard}`, [outcome.error, finishedAt, ...guardParams]);
    } else if (outcome.kind === 'retry') {
      changed = await tx.execute(`UPDATE ${t.steps} SET state = 'pending', error = ?, available_at = ?, ${NO_LEASE} ${guard}`, [
        outcome.error,
        outcome.availableAt,
        ...guardParams,
      ]);
    } else if (outcome.kind === 'parked') {
      changed = await parkStep(this.ctx, tx, completion.fence, outcome);
    } else {
      changed = await tx.execute(`UPDATE ${t.steps} SET state = 'failed', error = ?, ${NO_LEASE}, finished_at = ? ${guard}`, [outcome.error, finishedAt, ...guardParams]);
      if (changed === 1) await this.deadLetters.addStep(tx, fence.stepId, outcome.deadLetterReason, finishedAt);
    }
    return changed === 1;
  }

  /**
   * Wakes the executions of recorded outcomes: when asked to, and in any case when nobody holds one (its
   * holder may have suspended it between the attempt finishing and this write). Returns those woken.
   *
   * The execution row is written (so locked) and its holder told even when its wake time has already
   * come: an earlier batch may have woken it, and the holder may take that wake-up and re-read its steps
   * while this transaction is still open, seeing these results as running. Locking the row makes its
   * takeWoken wait for this commit; the notice sent after the commit covers a take that came earlier.
   */
  private async wakeAll(tx: SqlExecutor, results: Array<{ executionId: string; force: boolean; now: number }>): Promise<string[]> {
    const { t, dialect } = this.ctx;
    // One wake an execution, however many of its results the batch holds (a fan-out's results come in
    // hundreds): forced if any of them asks for it, as of the latest.
    const byExecution = new Map<string, { executionId: string; force: boolean; now: number }>();
    for (const result of results) {
      const seen = byExecution.get(result.executionId);
      if (!seen) byExecution.set(result.executionId, { ...result });
      else {
        seen.force ||= result.force;
        seen.now = Math.max(seen.now, result.now);
      }
    }
    const toWake = [...byExecution.values()].sort((a, b) => (a.executionId < b.executionId ? -1 : 1));
    if (dialect.combinesWrites && toWake.length > 1) {
      const now = Math.max(...toWake.map((w) => w.now));
      const forced = toWake.filter((w) => w.force).map((w) => w.executionId);
      const params: unknown[] = [now, now];
      const ids = dialect.inList('id', toWake.map((w) => w.executionId), params);
      const forcedIds = dialect.inList('id', forced, params);
      const rows = await tx.query<{ id: string }>(
        `UPDATE ${t.executions} SET ${WAKE_NOW} WHERE id IN (
           SELECT id FROM ${t.executions} WHERE ${ids} AND state IN ${ACTIVE} AND (lease_owner IS NULL OR ${forcedIds})
           ORDER BY id${dialect.forUpdate}
         ) RETURNING id`,
        params,
      );
      return rows.map((row) => String(row.id));
    }
    const woken: string[] = [];
    for (const { executionId, force, now } of toWake) {
      const changed = await tx.execute(`UPDATE ${t.executions} SET ${WAKE_NOW} WHERE id = ? AND state IN ${ACTIVE}${force ? '' : ' AND lease_owner IS NULL'}`, [
        now,
        now,
        executionId,
      ]);
      if (changed > 0) woken.push(executionId);
    }
    return woken;
  }

  /**
   * A batch of successful attempts in one statement (PostgreSQL), not a transaction of four round trips:
   * the results, then the executions woken (see wakeAll: when asked to, or when nobody holds one), their
   * rows locked in id order after the step rows, as in the transaction. `order` is sorted by step id.
   */
  private async completePlainBatch(order: Array<{ completion: StepCompletion; index: number }>): Promise<boolean[]> {
    const params: unknown[] = [];
    let now = 0;
    for (const { completion } of order) {
      params.push(completion.fence.stepId, completion.fence.owner, completion.fence.epoch, (completion.outcome as { result: string }).result, completion.finishedAt);
      params.push(completion.executionId, completion.wakeExecution);
      now = Math.max(now, completion.finishedAt);
    }
    params.push(now, now);
    const rows = await this.ctx.client.query<{ k: string; id: string }>(this.plainBatchStatement(order.length), params);
    const done = new Set<string>();
    const woken: string[] = [];
    for (const row of rows) {
      if (row.k === 'd') done.add(String(row.id));
      else woken.push(String(row.id));
    }
    for (const executionId of woken) this.ctx.bus.publish({ type: 'woken', executionId });
    if (woken.length > 0) this.ctx.bus.publish({ type: 'work', of: 'executions' });
    const out: boolean[] = new Array(order.length).fill(false);
    for (const { completion, index } of order) out[index] = done.has(completion.fence.stepId);
    return out;
  }

  /** The text of completePlainBatch's statement for `count` results, built once per count. */
  private plainBatchStatement(count: number): string {
    let text = this.plainBatchTexts.get(count);
    if (text !== undefined) return text;
    const { t, dialect } = this.ctx;
    const values = Array.from({ length: count }, () => dialect.valuesRow([...COMPLETION_TYPES, 'varchar', 'boolean'])).join(', ');
    text = `WITH done AS (
         UPDATE ${t.steps} s SET ${completedStep('v.result', 'v.finished_at')}
         FROM (VALUES ${values}) AS v(id, owner, epoch, result, finished_at, execution_id, force)
         WHERE ${stepStillOwned('s', 'v')}
         RETURNING s.id, s.execution_id, v.force
       ), woke AS (
         UPDATE ${t.executions} SET ${WAKE_NOW} WHERE id IN (
           SELECT e.id FROM ${t.executions} e WHERE e.id IN (SELECT d.execution_id FROM done d) AND e.state IN ${ACTIVE}
             AND (e.lease_owner IS NULL OR EXISTS (SELECT 1 FROM done d WHERE d.execution_id = e.id AND d.force))
           ORDER BY e.id${dialect.forUpdate}
         ) RETURNING id
       )
       SELECT 'd' AS k, id FROM done UNION ALL SELECT 'w' AS k, id FROM woke`;
    if (this.plainBatchTexts.size >= 256) this.plainBatchTexts.clear();
    this.plainBatchTexts.set(count, text);
    return text;
  }

  /**
   * One completed step in one statement: it records the result and wakes the execution when asked to or
   * when nobody holds it (the execution row is locked after the step row, as in batches).
   */
  private async completeOne(completion: StepCompletion, handing?: { handOff: SlotHandOff; started: StepRecord[] }): Promise<boolean> {
    const { t } = this.ctx;
    const { fence, outcome, finishedAt } = completion;
    const params: unknown[] = [outcome.kind === 'completed' ? outcome.result : null, finishedAt, fence.stepId, fence.owner, fence.epoch, finishedAt, finishedAt];
    // A slot handed off (see SlotHandOff) in the same statement, only if the step's result was recorded.
    const slot = handing?.handOff.slots[0];
    const handed = slot && slot.stepId === fence.stepId ? handOffUpdate(this.ctx, handing!.handOff, slot, ' AND EXISTS (SELECT 1 FROM done)') : undefined;
    if (handed) params.push(...handed.params);
    const [row] = await this.ctx.client.query<Record<string, unknown>>(
      `WITH done AS (
         UPDATE ${t.steps} SET ${completedStep()}
         WHERE ${stepStillOwned()}
         RETURNING execution_id
       ), woke AS (
         UPDATE ${t.executions} e SET wake_at = CASE WHEN e.wake_at IS NULL OR e.wake_at > ? THEN ? ELSE e.wake_at END FROM done
         WHERE e.id = done.execution_id AND e.state IN ${ACTIVE}${completion.wakeExecution ? '' : ' AND e.lease_owner IS NULL'}
         RETURNING e.id
       )${handed ? `, handed AS (${handed.sql})` : ''}
       SELECT (SELECT COUNT(*) FROM done) AS changed, (SELECT COUNT(*) FROM woke) AS woken${handed ? ', h.*' : ''}
       ${handed ? 'FROM (SELECT 1 AS one) o LEFT JOIN handed h ON true' : ''}`,
      params,
    );
    if (handed && row && row.id !== null && row.id !== undefined) handing!.started.push(stepFromRow(row));
    if (num(row?.woken ?? 0) > 0) {
      this.ctx.bus.publish({ type: 'woken', executionId: completion.executionId });
      this.ctx.bus.publish({ type: 'work', of: 'executions' });
    }
    return num(row?.changed ?? 0) === 1;
  }
}

/** A successful attempt with nothing else to store: what PostgreSQL records in one statement for many. */
function isPlain(completion: StepCompletion): boolean {
  return completion.outcome.kind === 'completed' && !completion.outcome.cache;
}
