import type { NewStep, StepRecord } from '../../core/index.js';
import type { Row } from '../sql/dialect.js';
import { stepRecordOf, unchangingFromRow, unchangingOfCall } from '../sql/rows.js';

/**
 * Calls a store remembers at most: a 20,000-way fan-out's waiting steps. The oldest go first, so calls
 * claimed elsewhere (another process on the file, a flow-limited claim, a cancelled run) cannot pile up.
 */
const KEPT = 20_000;

/**
 * The calls of the pending activity steps this store inserted (on SQLite), by step id, until a claim here
 * takes them: such a claim reads back only the columns that change (STEP_CHANGING) and takes the rest of
 * each record from the call as inserted. Reading a row's values back is most of what a SQLite claim costs (a 32-column record with
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
   * forgotten; what the inserts of the others wrote is read through `readUnchanging` (STEP_UNCHANGING by id).
   */
  async records(claimed: Row[], readUnchanging: (ids: string[]) => Promise<Row[]>): Promise<StepRecord[]> {
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
      records.push(stepRecordOf(unchangingOfCall(call), row));
    }
    if (unknown.size > 0) {
      // Only what never changes is read: the changing columns are the claim's, the read comes after it.
      for (const written of (await readUnchanging([...unknown.keys()])).map(unchangingFromRow)) records.push(stepRecordOf(written, unknown.get(written.id)!));
    }
    return records;
  }
}
