import { stepsWorkKind, type ExecutionFence, type LocalCompletion, type NewStep, type SlotHandOff, type StepRecord } from '../../core/index.js';
import type { SqlContext } from '../sql/sql-context.js';
import { INSERT_CHUNK, STEP_COLUMNS, STEP_COLUMN_TYPES, stepFromRow, stepParams } from '../sql/rows.js';
import { rowSourceFor, valuesSource, type RowSource } from '../sql/row-source.js';
import { ACTIVE, COMPLETION_TYPES, completedStep, completionParams, heldBy, NO_LEASE, stepStillOwned } from '../sql/statements.js';
import { handOffShape, sharedHandOffCtes } from './shared-hand-offs.js';
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

/**
 * The writes for the next statement, in order: step rows up to a chunk, endings up to the NOTIFY's budget,
 * hand-offs of one filter and never two of one activity and key (see sharedHandOffCtes).
 */
function nextBatch(queue: QueuedWrite[]): QueuedWrite[] {
  let rows = 0;
  let notice = 0;
  let taken = 0;
  const keys = new Set<string>();
  let filter: string | undefined;
  for (const write of queue) {
    const size = write.kind === 'insert' ? write.steps.length : eventBytes(write.fence.executionId);
    const fits = taken === 0 || (write.kind === 'insert' ? rows + size <= INSERT_CHUNK : notice + size <= NOTICE_BUDGET);
    if (!fits) break;
    if (write.kind === 'finish' && write.handOff) {
      const own = write.handOff.slots.map((slot) => JSON.stringify([slot.name, slot.key]));
      // The statement's hand-offs use one filter; its `now` is the first one's (they differ by the moments their writes were asked for).
      const { owner, queues, tags, leaseMs, preferHeld } = write.handOff.filter;
      const ownFilter = JSON.stringify([owner, queues, tags, leaseMs, preferHeld === true]);
      if (taken > 0 && ((filter !== undefined && filter !== ownFilter) || own.some((key) => keys.has(key)))) break;
      filter = ownFilter;
      for (const key of own) keys.add(key);
    }
    if (write.kind === 'insert') rows += size;
    else notice += size;
    taken++;
  }
  return queue.splice(0, taken);
}

/** Column types of the rows each part reads: results (with their execution), steps (with their run's fence and results), endings, slots handed off. */
const COMPLETION_COLUMNS = [...COMPLETION_TYPES, 'varchar'];
const ROW_TYPES = [...STEP_COLUMN_TYPES, 'varchar', 'integer', 'integer'];
const ENDING_TYPES = ['varchar', 'varchar', 'integer', 'text', 'bigint', 'integer'];
const SLOT_TYPES = ['integer', 'varchar', 'varchar', 'varchar'];

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
  /** Statement texts by shape (see buildStatement): the same text object each time, which the client and the driver then look up without reading it again. */
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
    // One run's write of a few rows (the usual one when runs wait on each other) reads VALUES; a batch of
    // several runs, or a write of many rows (a fan-out), reads arrays: see RowSource and VALUES_MAX_ROWS.
    let rowCount = 0;
    for (const entry of batch) rowCount += entry.completions.length + (entry.kind === 'insert' ? entry.steps.length : 0);
    const source = rowSourceFor(rowCount, batch.length === 1);
    const params: unknown[] = [];
    // Results the workflows already used are recorded in the same statement; a run's steps go in (its
    // execution is completed) only if all of its results did (each still owned).
    const completions: unknown[][] = [];
    for (const { fence, completions: own } of batch) for (const completion of own) completions.push([...completionParams(completion), fence.executionId]);
    source.push(COMPLETION_COLUMNS.length, completions, params);
    // The ids once more, as `id = ANY(...)`: a generic plan, which cannot know how few rows arrays hold,
    // then reads the table by its key, where a join with the rows alone scanned the whole table.
    params.push(completions.map((row) => row[0]));
    // A step inserted claimed gets its lease from the database's clock (see Dialect.leaseNow).
    const rows: unknown[][] = [];
    for (const entry of batch) {
      if (entry.kind !== 'insert') continue;
      for (const step of entry.steps) rows.push([...stepParams(step, true), entry.fence.owner, entry.fence.epoch, entry.completions.length]);
    }
    // Parts with nothing to do are left out of the statement: PostgreSQL sets up and runs every part of a
    // statement whether or not it has rows, and a sequential step's write has neither endings nor a NOTIFY.
    if (rows.length > 0) source.push(ROW_TYPES.length, rows, params);
    const endings: unknown[][] = [];
    for (const entry of batch) {
      if (entry.kind !== 'finish') continue;
      const { fence } = entry;
      endings.push([fence.executionId, fence.owner, fence.epoch, entry.result, entry.now, entry.completions.length]);
    }
    if (endings.length > 0) {
      source.push(ENDING_TYPES.length, endings, params);
      params.push(endings.map((row) => row[0]));
    }
    // What each insert tells other workers (see stepsWorkKind): nothing, steps, or steps with flow keys only.
    const announces = batch.map((entry) => (entry.kind === 'insert' ? stepsWorkKind(entry.steps, true) : undefined));
    const work = announces.includes('steps') ? 'steps' : announces.includes('flow') ? 'flow' : undefined;
    const notice = endings.length > 0 || work !== undefined ? this.notice() : undefined;
    // The work announced is decided here (a parameter, so the text is the same whatever it is), and sent if the statement inserted a pending activity step.
    if (notice) params.push(notice.channel, notice.head, notice.tail);
    if (notice && rows.length > 0) params.push(work === undefined ? null : JSON.stringify({ type: 'work', of: work }));
    batch.forEach((entry, i) => (entry.announced = notice !== undefined && (entry.kind === 'finish' || announces[i] !== undefined)));
    const handOffs = this.handOffs(batch, source, params);
    const counts = source === valuesSource ? `${completions.length}:${rows.length}:${endings.length}:${handOffs?.slots ?? 0}` : `${rows.length > 0}:${endings.length > 0}`;
    const shape = `${source.name}:${counts}:${notice !== undefined}:${handOffs ? handOffShape(handOffs.filter) : '-'}`;
    let text = this.texts.get(shape);
    if (text === undefined) {
      text = this.buildStatement(source, completions.length, rows.length, endings.length, notice !== undefined, handOffs?.ctes);
      if (this.texts.size >= 256) this.texts.clear();
      this.texts.set(shape, text);
    }
    const result = await this.ctx.client.query<Record<string, unknown>>(text, params);
    const inserted = new Set<string>();
    const done = new Set<string>();
    const finished = new Set<string>();
    const handed = new Map<number, StepRecord[]>();
    for (const row of result) {
      const k = row.k as string;
      if (k === 'i') inserted.add(String(row.id));
      else if (k === 'd') done.add(String(row.id));
      else if (k === 'f') finished.add(String(row.id));
      else if (k === 'h') {
        const started = JSON.parse(String(row.data)) as Record<string, unknown>;
        const index = Number(started.hand_idx);
        const steps = handed.get(index);
        if (steps) steps.push(stepFromRow(started));
        else handed.set(index, [stepFromRow(started)]);
      }
    }
    return { inserted, done, finished, handed };
  }

  /**
   * The hand-offs of the batch's endings, their parameters pushed (see sharedHandOffCtes): every slot
   * whose step's result an ending carries. Undefined when the batch hands nothing off.
   */
  private handOffs(batch: QueuedWrite[], source: RowSource, params: unknown[]): { ctes: string; filter: SlotHandOff['filter']; slots: number } | undefined {
    const slots: unknown[][] = [];
    let filter: SlotHandOff['filter'] | undefined;
    batch.forEach((entry, index) => {
      if (entry.kind !== 'finish' || !entry.handOff) return;
      filter ??= entry.handOff.filter;
      for (const slot of entry.handOff.slots) {
        if (entry.completions.some((completion) => completion.fence.stepId === slot.stepId)) slots.push([index, slot.stepId, slot.name, slot.key]);
      }
    });
    if (!filter || slots.length === 0) return undefined;
    source.push(SLOT_TYPES.length, slots, params);
    return { ctes: sharedHandOffCtes(this.ctx, filter, source.sql(SLOT_TYPES, slots.length), params), filter, slots: slots.length };
  }

  /**
   * The statement's text, kept by shape: the parts it has (results always; step inserts, endings, the
   * NOTIFY and hand-offs when there are any), and for VALUES the number of rows of each part too (see RowSource).
   */
  private buildStatement(source: RowSource, completions: number, rows: number, endings: number, notify: boolean, handOffCtes: string | undefined): string {
    const { t, dialect } = this.ctx;
    const doneOf = (execution: string) => `(SELECT COUNT(*) FROM done d WHERE d.execution_id = ${execution})`;
    const parts = [
      `done AS (
         UPDATE ${t.steps} s SET ${completedStep('c.result', 'c.finished_at')}
         FROM ${source.sql(COMPLETION_COLUMNS, completions)} AS c(id, owner, epoch, result, finished_at, execution_id)
         WHERE s.id = ANY(CAST(? AS varchar[])) AND ${stepStillOwned('s', 'c')} AND s.execution_id = c.execution_id
         RETURNING s.id, s.execution_id
       )`,
    ];
    const selects = [`SELECT 'd' AS k, id, NULL AS data FROM done`];
    if (rows > 0) {
      parts.push(`ins AS (
         INSERT INTO ${t.steps} (${STEP_COLUMNS.join(', ')})
         SELECT ${STEP_COLUMNS.map((column) => (column === 'lease_expires_at' ? `${dialect.leaseNow(0, [])} + v.${column}` : `v.${column}`)).join(', ')}
         FROM ${source.sql(ROW_TYPES, rows)} AS v(${STEP_COLUMNS.join(', ')}, fence_owner, fence_epoch, expect_done)
         WHERE EXISTS (
           SELECT 1 FROM ${t.executions} e
           WHERE e.id = v.execution_id AND ${heldBy('e', 'v.fence_owner')} AND e.lease_epoch = v.fence_epoch AND e.state IN ${ACTIVE} FOR SHARE
         ) AND ${doneOf('v.execution_id')} = v.expect_done
         RETURNING id, state, kind
       )`);
      selects.push(`SELECT 'i' AS k, id, NULL AS data FROM ins`);
    }
    if (endings > 0) {
      parts.push(`fin AS (
         UPDATE ${t.executions} e
         SET state = 'completed', result = f.result, error = NULL, finished_at = f.now, updated_at = f.now, ${NO_LEASE}, wake_at = NULL
         FROM ${source.sql(ENDING_TYPES, endings)} AS f(id, owner, epoch, result, now, expect_done)
         WHERE e.id = ANY(CAST(? AS varchar[])) AND e.id = f.id AND e.lease_owner = f.owner AND e.lease_epoch = f.epoch AND e.state IN ${ACTIVE} AND e.parent_id IS NULL
           AND ${doneOf('f.id')} = f.expect_done
         RETURNING e.id
       )`);
      selects.push(`SELECT 'f' AS k, id, NULL AS data FROM fin`);
    }
    if (notify) {
      // One NOTIFY, sent with the commit: the work announced (a parameter: see write) if the statement
      // inserted a pending activity step, and every execution it completed (none at all if neither). `x` is
      // read twice: kept whole, its list of completed executions is built once.
      const work = rows > 0 ? `CASE WHEN EXISTS (SELECT 1 FROM ins WHERE state = 'pending' AND kind = 'activity') THEN CAST(? AS text) END` : 'CAST(NULL AS text)';
      const finished = endings > 0 ? `(SELECT string_agg(json_build_object('type', 'finished', 'executionId', id)::text, ',') FROM fin)` : 'CAST(NULL AS text)';
      parts.push(`note AS (
         SELECT pg_notify(n.channel, n.head || concat_ws(',', x.w, x.f) || n.tail)
         FROM (SELECT CAST(? AS text) AS channel, CAST(? AS text) AS head, CAST(? AS text) AS tail) n,
           (SELECT ${work} AS w, ${finished} AS f${this.ctx.dialect.computedOnce}) x
         WHERE x.w IS NOT NULL OR x.f IS NOT NULL
       )`);
      selects.push(`SELECT 'n' AS k, NULL AS id, NULL AS data FROM note`);
    }
    if (handOffCtes) {
      parts.push(handOffCtes);
      // A started step comes back whole, as JSON text in `data` (with its slot's index): the other rows of the result have two columns.
      selects.push(`SELECT 'h' AS k, h.id, row_to_json(h)::text AS data FROM handed h`);
    }
    return `WITH ${parts.join(', ')}
       ${selects.join(' UNION ALL ')}`;
  }
}

