import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, registerErrorClass, Result, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';
import { outcomeShape } from '../support/invariants.js';

class CodedError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'CodedError';
  }
}
registerErrorClass(CodedError);

let mode = 0;

class ParityActs {
  async fail(): Promise<string> {
    throw new CodedError('activity broke', 7);
  }
  async ok(x: number): Promise<number> {
    return x * 2;
  }
}
defineActivity(ParityActs, { name: 'ParityActs', retry: { maxAttempts: 1 } });

class OutcomeKindsFlow {
  constructor(private readonly acts: ParityActs) {}
  async run(kind: string): Promise<unknown> {
    switch (kind) {
      case 'value':
        return { n: await this.acts.ok(21), at: new Date(0), nothing: undefined };
      case 'result-ok':
        return Result.ok(await this.acts.ok(1));
      case 'result-error':
        await this.acts.ok(1);
        return Result.error(new CodedError('expected failure', 3));
      case 'result-error-string':
        return Result.error('rejected');
      case 'throw':
        await this.acts.ok(1);
        throw new CodedError('thrown', 5);
      case 'activity-failed':
        return this.acts.fail();
      case 'undefined':
        await this.acts.ok(1);
        return undefined;
      case 'timeout':
        await Stent.sleep('10s');
        return 'late';
      case 'signal':
        return Stent.waitForSignal('never');
      default:
        return mode;
    }
  }
}
defineWorkflow(OutcomeKindsFlow, { name: 'OutcomeKindsFlow' });
class SleepsPastMaxDuration {
  async run(): Promise<string> {
    await Stent.sleep('10s');
    return 'late';
  }
}
defineWorkflow(SleepsPastMaxDuration, { name: 'SleepsPastMaxDuration', maxDuration: '400ms' });

describe.each(DIALECTS)('waitFor in the process that ran the execution vs a fresh reader on %s', (dialect) => {
  let set: ExecutorSet;
  afterEach(async () => {
    await set?.dispose();
  });

  const kinds = ['value', 'result-ok', 'result-error', 'result-error-string', 'throw', 'activity-failed', 'undefined'];

  it('gives the same Result for every way a run can end', async () => {
    set = await ExecutorSet.create(dialect);
    const acts = new ParityActs();
    const worker = await set.executor([acts, new OutcomeKindsFlow(acts), new SleepsPastMaxDuration()]);
    const reader = await set.executor([acts, new OutcomeKindsFlow(acts), new SleepsPastMaxDuration()], false);
    const rows: Array<{ kind: string; local: unknown; fresh: unknown }> = [];
    for (const kind of kinds) {
      const id = await worker.dispatch(OutcomeKindsFlow, [kind]);
      const local = await outcomeShape(worker, id); // listening before the end: the in-process fast path
      const fresh = await outcomeShape(reader, id);
      rows.push({ kind, local, fresh });
    }
    // cancelled and timed out
    const cancelId = await worker.dispatch(OutcomeKindsFlow, ['signal']);
    const localCancel = outcomeShape(worker, cancelId);
    await waitUntil(async () => (await worker.getJournal(cancelId)).length === 1, 'the signal wait');
    await reader.cancel(cancelId);
    rows.push({ kind: 'cancelled', local: await localCancel, fresh: await outcomeShape(reader, cancelId) });
    const shortId = await worker.dispatch(SleepsPastMaxDuration, []);
    rows.push({ kind: 'timed_out', local: await outcomeShape(worker, shortId), fresh: await outcomeShape(reader, shortId) });
    for (const row of rows) expect(row.local, row.kind).toEqual(row.fresh);
  });
});
