import type { ExecutionFence, LocalCompletion, NewStep, SlotHandOff, StepRecord } from '../../core/index.js';
import type { SqlContext } from '../sql/sql-context.js';
import { INSERT_CHUNK, STEP_COLUMNS, STEP_COLUMN_TYPES, stepParams } from '../sql/rows.js';
import { ACTIVE, COMPLETION_TYPES, completedStep, completionParams, NO_LEASE, stepStillOwned } from '../sql/statements.js';
import { stepFromRow } from '../sql/rows.js';
import { handOffUpdate } from './slot-hand-off.js';
import { StatementQueue } from './statement-queue.js';

/** A run's plain step insert, or its simple ending (completed, top level, nothing left behind). */
type QueuedWrite =
  | {
      kind: 'insert';
      fence: ExecutionFence;
      steps: NewStep[];
      completions: LocalCompletion[];
      /** Set when written: the statement carried the NOTIFY announcing work (see announcesWork). */
      announced?: boolean;
      resolve(inserted: { ok: boolean; announced: boolean }): void;
      reject(error: unknown): void;
    }
  | {
      kind: 'finish';
      fence: ExecutionFence;
      result: string | null;
      now: number;
      completions: LocalCompletion[];
      /** Slots of keyed steps among `completions` that go to their keys' next steps (see SlotHandOff). */
      handOff?: SlotHandOff;
      /** Set when written: the statement carried the NOTIFY naming the executions it completed. */
      announced?: boolean;
      resolve(ended: SharedEnding): void;
      reject(error: unknown): void;
    };

/** What a shared ending did: whether it completed its execution, announced it, and the steps its hand-off started. */
export interface SharedEnding {
  ok: boolean;
  announced: boolean;
  started: StepRecord[];
}

/**
 * What a shared statement wrote: ids of the steps inserted, of the results recorded, of the executions
 * completed, and the steps started by the hand-offs of the batch's entries (by index in the batch).
 */
interface Written {
  inserted: Set<string>;
  done: Set<string>;
  finished: Set<string>;
  handed: Map<number, StepRecord[]>;
}

/**
 * Bytes of the NOTIFY payload one statement's endings may fill (PostgreSQL refuses one of 8,000 or more):
 * each ending's event is its id as JSON and about 40 bytes around it (see eventBytes).
 */
const NOTICE_BUDGET = 7_000;

/** An upper bound of the bytes the statement's NOTIFY spends on the event of ending `executionId`. */
function eventBytes(executionId: string): number {
  return 48 + Buffer.byteLength(JSON.stringify(executionId));
}

/** The writes for the next statement, in order: step rows up to a chunk, endings up to the NOTIFY's budget. */
function nextBatch(queue: QueuedWrite[]): QueuedWrite[] {
  let rows = 0;
  let notice = 0;
  let taken = 0;
  for (const write of queue) {
    const size = write.kind === 'insert' ? write.steps.length : eventBytes(write.fence.executionId);
    const fits = taken === 0 || (write.kind === 'insert' ? rows + size <= INSERT_CHUNK : notice + size <= NOTICE_BUDGET);
    if (!fits) break;
    if (write.kind === 'insert') rows += size;
    else notice += size;
    taken++;
  }
  return queue.splice(0, taken);
}

/** Whether inserting `steps` is news to other workers: a pending activity step waits for a claim. */
function announcesWork(steps: readonly NewStep[]): boolean {
  return steps.some((step) => step.kind === 'activity' && step.state === 'pending');
}

/** How the statement announces what it did: the bus's channel and payload frame. */
export interface FinishedNotice {
  channel: string;
  head: string;
  tail: string;
}

/**
 * Writes of many runs in shared statements (PostgreSQL): plain step inserts and simple endings requested
 * while one statement is on its way are sent together in the next one, one commit for all of them. Each
 * row goes in only while its own run's fence holds (the execution row is share-locked for the statement,
 * so a concurrent reclaim waits), and only if every result its run already used (recorded in the same
 * statement) is still owned; an ending completes its execution on the same conditions. The executions a
 * statement completed are announced by one NOTIFY sent with its commit, not one per ending: every
 * notifying commit takes PostgreSQL's notification lock for the whole cluster until it is durable, and
 * wakes every listening connection. An ending that hands keyed slots off (see SlotHandOff) starts its
 * keys' next steps in the same statement.
 */
export class SharedWrites {
  private readonly queue = new StatementQueue<QueuedWrite, Written>({
    next: (queue) => nextBatch(queue),
    write: (batch) => this.write(batch),
    settle: (batch, written) => this.settle(batch, written),
  });
  /** Statement texts by shape (see statement()). */
  private readonly texts = new Map<string, string>();

  constructor(
    private readonly ctx: SqlContext,
    /** The frame of the NOTIFY announcing finished executions, read at each statement (undefined: none). */
    private readonly notice: () => FinishedNotice | undefined = () => undefined,
  ) {}

  /**
   * Inserts a run's steps with the results it already used (only if its fence holds and all are still
   * owned); `announced`: the statement carried the NOTIFY announcing its pending activity steps as work.
   */
  insert(fence: ExecutionFence, steps: NewStep[], completions: LocalCompletion[]): Promise<{ ok: boolean; announced: boolean }> {
    return new Promise((resolve, reject) => this.queue.add({ kind: 'insert', fence, steps, completions, resolve, reject }));
  }

  /**
   * Completes an owned top-level execution with the results of its last steps (only if all are still
   * owned); `announced`: the statement carried the NOTIFY naming it (else the caller sends one). With
   * `handOff`, the slot of each of those steps whose result is recorded starts its key's next step, leased
   * to the hand-off's owner (`started`), whether or not the execution's fence still held.
   */
  finish(fence: ExecutionFence, result: string | null, now: number, completions: LocalCompletion[], handOff?: SlotHandOff): Promise<SharedEnding> {
    return new Promise((resolve, reject) => this.queue.add({ kind: 'finish', fence, result, now, completions, handOff, resolve, reject }));
  }

  private settle(batch: QueuedWrite[], { inserted, done, finished, handed }: Written): void {
    batch.forEach((entry, index) => {
      const resultsDone = entry.completions.every((c) => done.has(c.fence.stepId));
      if (entry.kind === 'insert') entry.resolve({ ok: entry.steps.every((step) => inserted.has(step.id)) && resultsDone, announced: entry.announced === true });
      else entry.resolve({ ok: finished.has(entry.fence.executionId) && resultsDone, announced: entry.announced === true, started: handed.get(index) ?? [] });
    });
  }

  private async write(batch: QueuedWrite[]): Promise<Written> {
    const params: unknown[] = [];
    // Results the workflows already used are recorded in the same statement; a run's steps go in (its
    // execution is completed) only if all of its results did (each still owned).
    let completions = 0;
    for (const { fence, completions: own } of batch) {
      for (const completion of own) {
        params.push(...completionParams(completion), fence.executionId);
        completions++;
      }
    }
    let rows = 0;
    let endings = 0;
    for (const entry of batch) {
      if (entry.kind !== 'insert') continue;
      for (const step of entry.steps) {
        // A step inserted claimed gets its lease from the database's clock (see Dialect.leaseNow).
        params.push(...stepParams(step, true), entry.fence.owner, entry.fence.epoch, entry.completions.length);
        rows++;
      }
    }
    for (const entry of batch) {
      if (entry.kind !== 'finish') continue;
      const { fence } = entry;
      params.push(fence.executionId, fence.owner, fence.epoch, entry.result, entry.now, entry.completions.length);
      endings++;
    }
    const work = batch.some((entry) => entry.kind === 'insert' && announcesWork(entry.steps));
    const notice = endings > 0 || work ? this.notice() : undefined;
    if (notice) params.push(notice.channel, notice.head, notice.tail);
    for (const entry of batch) entry.announced = notice !== undefined && (entry.kind === 'finish' || announcesWork(entry.steps));
    const announce = notice === undefined ? undefined : { work, endings: endings > 0 };
    const handOffs = this.handOffs(batch, params);
    const shape = `${rows}:${completions}:${endings}:${announce ? `${work ? 'w' : ''}${endings > 0 ? 'f' : ''}` : '-'}:${handOffs.shape}`;
    const text = this.statement(shape, () => this.buildStatement(rows, completions, endings, announce, handOffs.updates));
    const result = await this.ctx.client.query<{ k: string; id: string; data: string | null }>(text, params);
    const inserted = new Set<string>();
    const done = new Set<string>();
    const finished = new Set<string>();
    const handed = new Map<number, StepRecord[]>();
    for (const row of result) {
      if (row.k === 'i') inserted.add(String(row.id));
      else if (row.k === 'd') done.add(String(row.id));
      else if (row.k === 'f') finished.add(String(row.id));
      else if (row.k.startsWith('h')) {
        const index = Number(row.k.slice(1));
        const started = handed.get(index) ?? [];
        started.push(stepFromRow(JSON.parse(String(row.data)) as Record<string, unknown>));
        handed.set(index, started);
      }
    }
    return { inserted, done, finished, handed };
  }

  /**
   * The UPDATEs that hand off the slots of the batch's endings (each slot only if its step's result is
   * recorded by the statement), their parameters pushed in text order, and the shape of their text.
   */
  private handOffs(batch: QueuedWrite[], params: unknown[]): { updates: Array<{ index: number; sql: string }>; shape: string } {
    const updates: Array<{ index: number; sql: string }> = [];
    const shape: string[] = [];
    batch.forEach((entry, index) => {
      if (entry.kind !== 'finish' || !entry.handOff) return;
      const { handOff } = entry;
      for (const slot of handOff.slots) {
        if (!entry.completions.some((completion) => completion.fence.stepId === slot.stepId)) continue;
        const update = handOffUpdate(this.ctx, handOff, slot, ' AND EXISTS (SELECT 1 FROM done WHERE done.id = ?)');
        params.push(...update.params, slot.stepId);
        updates.push({ index, sql: update.sql });
        // The UPDATE's text depends on these alone (see handOffUpdate).
        shape.push(`${index}/${handOff.filter.queues.length}/${handOff.filter.tags.length}/${handOff.filter.preferHeld ? 1 : 0}`);
      }
    });
    return { updates, shape: shape.join(',') };
  }

  /**
   * The statement's text for a shape (`key`: numbers of step rows, results, endings and the hand-offs'
   * shapes), built once per shape: the
   * same text object each time, which the client (its cache of statement shapes) and the driver (the
   * prepared statement's text) then compare and look up without reading a few kilobytes at every step.
   */
  private statement(key: string, build: () => string): string {
    let text = this.texts.get(key);
    if (text === undefined) {
      text = build();
      if (this.texts.size >= 256) this.texts.clear();
      this.texts.set(key, text);
    }
    return text;
  }

  private buildStatement(
    rows: number,
    completions: number,
    endings: number,
    announce: { work: boolean; endings: boolean } | undefined,
    handOffs: Array<{ index: number; sql: string }>,
  ): string {
    const { t, dialect } = this.ctx;
    const parts: string[] = [];
    const selects: string[] = [];
    const doneOf = (execution: string) => (completions > 0 ? ` AND (SELECT COUNT(*) FROM done d WHERE d.execution_id = ${execution}) = ` : '');
    if (completions > 0) {
      const values = Array.from({ length: completions }, () => dialect.valuesRow([...COMPLETION_TYPES, 'varchar'])).join(', ');
      parts.push(`done AS (
         UPDATE ${t.steps} s SET ${completedStep('c.result', 'c.finished_at')}
         FROM (VALUES ${values}) AS c(id, owner, epoch, result, finished_at, execution_id)
         WHERE ${stepStillOwned('s', 'c')} AND s.execution_id = c.execution_id
         RETURNING s.id, s.execution_id
       )`);
      selects.push(`SELECT 'd' AS k, id, NULL AS data FROM done`);
    }
    if (rows > 0) {
      const row = dialect.valuesRow([...STEP_COLUMN_TYPES, 'varchar', 'integer', 'integer']);
      const allDone = completions > 0 ? `${doneOf('v.execution_id')}v.expect_done` : '';
      parts.push(`ins AS (
         INSERT INTO ${t.steps} (${STEP_COLUMNS.join(', ')})
         SELECT ${STEP_COLUMNS.map((column) => (column === 'lease_expires_at' ? `${dialect.leaseNow(0, [])} + v.${column}` : `v.${column}`)).join(', ')}
         FROM (VALUES ${Array.from({ length: rows }, () => row).join(', ')}) AS v(${STEP_COLUMNS.join(', ')}, fence_owner, fence_epoch, expect_done)
         WHERE EXISTS (
           SELECT 1 FROM ${t.executions} e
           WHERE e.id = v.execution_id AND e.lease_owner = v.fence_owner AND e.lease_epoch = v.fence_epoch AND e.state IN ${ACTIVE} FOR SHARE
         )${allDone}
         RETURNING id, state, kind
       )`);
      selects.unshift(`SELECT 'i' AS k, id, NULL AS data FROM ins`);
    }
    if (endings > 0) {
      const row = dialect.valuesRow(['varchar', 'varchar', 'integer', 'text', 'bigint', 'integer']);
      const allDone = completions > 0 ? `${doneOf('f.id')}f.expect_done` : '';
      parts.push(`fin AS (
         UPDATE ${t.executions} e
         SET state = 'completed', result = f.result, error = NULL, finished_at = f.now, updated_at = f.now, ${NO_LEASE}, wake_at = NULL
         FROM (VALUES ${Array.from({ length: endings }, () => row).join(', ')}) AS f(id, owner, epoch, result, now, expect_done)
         WHERE e.id = f.id AND e.lease_owner = f.owner AND e.lease_epoch = f.epoch AND e.state IN ${ACTIVE} AND e.parent_id IS NULL${allDone}
         RETURNING e.id
       )`);
      selects.push(`SELECT 'f' AS k, id, NULL AS data FROM fin`);
    }
    if (announce) {
      // One NOTIFY, sent with the commit: work if the statement inserted a pending activity step, and every
      // execution it completed (none at all if neither).
      const work = announce.work ? `(SELECT '{"type":"work"}' FROM ins WHERE state = 'pending' AND kind = 'activity' LIMIT 1)` : 'NULL::text';
      const finished = announce.endings ? `(SELECT string_agg(json_build_object('type', 'finished', 'executionId', id)::text, ',') FROM fin)` : 'NULL::text';
      parts.push(`note AS (
         SELECT pg_notify(?, ? || concat_ws(',', x.w, x.f) || ?) FROM (SELECT ${work} AS w, ${finished} AS f) x
         WHERE x.w IS NOT NULL OR x.f IS NOT NULL
       )`);
      selects.push(`SELECT 'n' AS k, NULL AS id, NULL AS data FROM note`);
    }
    // A started step comes back whole, as JSON text in `data`: the other rows of the result have two columns.
    // Two hand-offs of one key may share the statement: they run in text order, and the second one's pick
    // skips the row the first one updated (its lock reads it as changed by this very command), so it takes
    // the key's next step; were it ever to pick that row anyway, its UPDATE would change nothing (a row is
    // updated once a statement) and its slot would go to claims, never two bodies for one step.
    handOffs.forEach(({ index, sql }, i) => {
      parts.push(`handed${i} AS (${sql})`);
      selects.push(`SELECT 'h${index}' AS k, h.id, row_to_json(h)::text AS data FROM handed${i} h`);
    });
    return `WITH ${parts.join(', ')}
       ${selects.join(' UNION ALL ')}`;
  }
}
