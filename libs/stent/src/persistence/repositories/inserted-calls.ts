import type { NewStep, StepCall, StepRecord } from '../../core/index.js';
import type { Row } from '../sql/dialect.js';
import { num, numOrNull, strOrNull, stepFromRow } from '../sql/rows.js';

/**
 * The columns of a step that statements change after its insert (a claim, an outcome, a retry, a revive,
 * a delivery order). A claim of a step whose call is remembered reads back these and its id; every other
 * column of a step is written once, by its insert, and never changed.
 */
export const STEP_CHANGING = [
  'id',
  'state',
  'result',
  'error',
  'attempts',
  'available_at',
  'lease_owner',
  'lease_epoch',
  'lease_expires_at',
  'started_at',
  'recoveries',
  'finished_at',
  'delivered_turn',
  'delivered_seq',
  'tentative',
] as const;

/**
 * Calls a store remembers at most: a 20,000-way fan-out's waiting steps. The oldest go first, so calls
 * claimed elsewhere (another process on the file, a flow-limited claim, a cancelled run) cannot pile up.
 */
const KEPT = 20_000;

/**
 * The calls of the pending activity steps this store inserted (on SQLite), by step id, until a claim here
 * takes them: such a claim reads back only STEP_CHANGING and takes the rest of each record from the call
 * as inserted. Reading a row's values back is most of what a SQLite claim costs (a 32-column record with
 * the call's arguments: in a count of instructions, claims returning three columns cost 23% less); the run
 * that made the call holds it until its outcome anyway, so remembering it costs a map entry.
 *
 * Not on PostgreSQL: there most steps are claimed by other processes than the one that inserted them, and
 * a claim whose steps are not remembered needs a second statement, there a round trip.
 */
export class InsertedCalls {
  private readonly calls = new Map<string, NewStep>();

  /**
   * Remembers the pending activity steps of a committed insert. Not those inserted claimed (their worker
   * runs them at once) nor those with a flow key (claims by activity and key take them, whole).
   */
  remember(steps: readonly NewStep[]): void {
    for (const step of steps) {
      if (step.kind !== 'activity' || step.state !== 'pending' || step.claimedBy || step.concurrencyKey != null || step.rateKey != null) continue;
      if (this.calls.size >= KEPT) this.calls.delete(this.calls.keys().next().value!);
      this.calls.set(step.id, step);
    }
  }

  /**
   * The records of claimed steps from the claim's rows (STEP_CHANGING): remembered calls are taken and
   * forgotten; the unchanging columns of the others are read whole through `readWhole` (by id).
   */
  async records(claimed: Row[], readWhole: (ids: string[]) => Promise<Row[]>): Promise<StepRecord[]> {
    const records: StepRecord[] = [];
    const unknown = new Map<string, Row>();
    for (const row of claimed) {
      const id = String(row.id);
      const call = this.calls.get(id);
      if (call === undefined) {
        unknown.set(id, row);
        continue;
      }
      this.calls.delete(id);
      records.push(claimedRecord(call, call.childExecutionId ?? null, row));
    }
    if (unknown.size > 0) {
      // The claim's own values win over the read's: the read comes after it and could see later changes.
      for (const whole of (await readWhole([...unknown.keys()])).map(stepFromRow)) records.push(claimedRecord(whole, whole.childExecutionId, unknown.get(whole.id)!));
    }
    return records;
  }
}

/** A claimed step's record: its call as inserted, and the columns that change as the claim returned them. */
function claimedRecord(call: StepCall, childExecutionId: string | null, row: Row): StepRecord {
  return {
    id: call.id,
    executionId: call.executionId,
    position: call.position,
    kind: call.kind,
    name: call.name,
    args: call.args,
    state: row.state as StepRecord['state'],
    result: strOrNull(row.result),
    error: strOrNull(row.error),
    attempts: num(row.attempts),
    retryPolicy: call.retryPolicy,
    timeoutMs: call.timeoutMs,
    queue: call.queue,
    priority: call.priority,
    tags: call.tags,
    maxConcurrent: call.maxConcurrent,
    availableAt: num(row.available_at),
    fireAt: call.fireAt,
    leaseOwner: strOrNull(row.lease_owner),
    leaseEpoch: num(row.lease_epoch),
    leaseExpiresAt: numOrNull(row.lease_expires_at),
    recoveries: num(row.recoveries),
    createdAt: call.createdAt,
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
    childExecutionId,
    callTurn: call.callTurn,
    deliveredTurn: numOrNull(row.delivered_turn),
    deliveredSeq: numOrNull(row.delivered_seq),
    tentative: num(row.tentative ?? 0) === 1,
    concurrencyKey: call.concurrencyKey ?? null,
    rateKey: call.rateKey ?? null,
  };
}
