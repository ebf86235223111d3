import type { ExecutionFence, LocalCompletion, NewStep } from '../../core/index.js';
import type { SqlContext } from '../sql/sql-context.js';
import { INSERT_CHUNK, STEP_COLUMNS, STEP_COLUMN_TYPES, stepParams } from '../sql/rows.js';
import { ACTIVE, COMPLETION_TYPES, completedStep, completionParams, stepStillOwned } from '../sql/statements.js';

interface QueuedInsert {
  fence: ExecutionFence;
  steps: NewStep[];
  completions: LocalCompletion[];
  resolve(ok: boolean): void;
  reject(error: unknown): void;
}

/**
 * Plain step inserts of many runs in shared statements (PostgreSQL): inserts requested while one statement
 * is on its way are sent together in the next one. Each row goes in only while its own run's fence holds
 * (the execution row is share-locked for the statement, so a concurrent reclaim waits), and only if every
 * result its run already used (recorded in the same statement) is still owned.
 */
export class SharedStepInserts {
  private queue: QueuedInsert[] = [];
  private flushing = false;
  /** Statement texts by shape (see statement()). */
  private readonly texts = new Map<number, string>();

  constructor(private readonly ctx: SqlContext) {}

  insert(fence: ExecutionFence, steps: NewStep[], completions: LocalCompletion[]): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ fence, steps, completions, resolve, reject });
      if (this.flushing) return;
      this.flushing = true;
      queueMicrotask(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        let rows = 0;
        let take = 0;
        while (take < this.queue.length && (take === 0 || rows + this.queue[take]!.steps.length <= INSERT_CHUNK)) {
          rows += this.queue[take]!.steps.length;
          take++;
        }
        const batch = this.queue.splice(0, take);
        try {
          this.settle(batch, await this.write(batch));
        } catch (error) {
          if (batch.length === 1) {
            batch[0]!.reject(error);
            continue;
          }
          // One run's rows the database refuses must not fail the others sharing the statement: each
          // goes again on its own, and only the one at fault gets the error.
          for (const entry of batch) {
            try {
              this.settle([entry], await this.write([entry]));
            } catch (own) {
              entry.reject(own);
            }
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private settle(batch: QueuedInsert[], { inserted, done }: { inserted: Set<string>; done: Set<string> }): void {
    for (const entry of batch) {
      entry.resolve(entry.steps.every((step) => inserted.has(step.id)) && entry.completions.every((c) => done.has(c.fence.stepId)));
    }
  }

  private async write(batch: QueuedInsert[]): Promise<{ inserted: Set<string>; done: Set<string> }> {
    const params: unknown[] = [];
    // Results the workflows already used are recorded in the same statement; a run's steps go in only if
    // all of its results did (each still owned).
    let completions = 0;
    for (const { fence, completions: own } of batch) {
      for (const completion of own) {
        params.push(...completionParams(completion), fence.executionId);
        completions++;
      }
    }
    let rows = 0;
    for (const { fence, steps, completions: own } of batch) {
      for (const step of steps) {
        // A step inserted claimed gets its lease from the database's clock (see Dialect.leaseNow).
        params.push(...stepParams(step, true), fence.owner, fence.epoch, own.length);
        rows++;
      }
    }
    const result = await this.ctx.client.query<{ k: string; id: string }>(this.statement(rows, completions), params);
    const inserted = new Set<string>();
    const doneIds = new Set<string>();
    for (const row of result) (row.k === 'i' ? inserted : doneIds).add(String(row.id));
    return { inserted, done: doneIds };
  }

  /**
   * The statement's text for a number of step rows and of results, built once per such shape: the same
   * text object each time, which the client (its cache of statement shapes) and the driver (the prepared
   * statement's text) then compare and look up without reading a few kilobytes at every step.
   */
  private statement(rows: number, completions: number): string {
    const key = rows * 100_000 + completions;
    let text = this.texts.get(key);
    if (text === undefined) {
      text = this.buildStatement(rows, completions);
      if (this.texts.size >= 256) this.texts.clear();
      this.texts.set(key, text);
    }
    return text;
  }

  private buildStatement(rows: number, completions: number): string {
    const { t, dialect } = this.ctx;
    let done = '';
    if (completions > 0) {
      const values = Array.from({ length: completions }, () => dialect.valuesRow([...COMPLETION_TYPES, 'varchar'])).join(', ');
      done = `done AS (
         UPDATE ${t.steps} s SET ${completedStep('c.result', 'c.finished_at')}
         FROM (VALUES ${values}) AS c(id, owner, epoch, result, finished_at, execution_id)
         WHERE ${stepStillOwned('s', 'c')} AND s.execution_id = c.execution_id
         RETURNING s.id, s.execution_id
       ), `;
    }
    const row = dialect.valuesRow([...STEP_COLUMN_TYPES, 'varchar', 'integer', 'integer']);
    const allDone = completions > 0 ? ` AND (SELECT COUNT(*) FROM done d WHERE d.execution_id = v.execution_id) = v.expect_done` : '';
    return `WITH ${done}ins AS (
         INSERT INTO ${t.steps} (${STEP_COLUMNS.join(', ')})
         SELECT ${STEP_COLUMNS.map((column) => (column === 'lease_expires_at' ? `${dialect.leaseNow(0, [])} + v.${column}` : `v.${column}`)).join(', ')}
         FROM (VALUES ${Array.from({ length: rows }, () => row).join(', ')}) AS v(${STEP_COLUMNS.join(', ')}, fence_owner, fence_epoch, expect_done)
         WHERE EXISTS (
           SELECT 1 FROM ${t.executions} e
           WHERE e.id = v.execution_id AND e.lease_owner = v.fence_owner AND e.lease_epoch = v.fence_epoch AND e.state IN ${ACTIVE} FOR SHARE
         )${allDone}
         RETURNING id
       )
       SELECT 'i' AS k, id FROM ins${completions > 0 ? ` UNION ALL SELECT 'd' AS k, id FROM done` : ''}`;
  }
}
