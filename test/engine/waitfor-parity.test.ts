import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, registerErrorClass, Result, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';
import { outcomeShape } from '../support/invariants.js';

class R3wError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'R3wError';
  }
}
registerErrorClass(R3wError);

let mode = 0;

class R3wActs {
  async fail(): Promise<string> {
    throw new R3wError('activity broke', 7);
  }
  async ok(x: number): Promise<number> {
    return x * 2;
  }
}
defineActivity(R3wActs, { name: 'R3wActs', retry: { maxAttempts: 1 } });

class R3wFlow {
  constructor(private readonly acts: R3wActs) {}
  async run(kind: string): Promise<unknown> {
    switch (kind) {
      case 'value':
        return { n: await this.acts.ok(21), at: new Date(0), nothing: undefined };
      case 'result-ok':
        return Result.ok(await this.acts.ok(1));
      case 'result-error':
        await this.acts.ok(1);
        return Result.error(new R3wError('expected failure', 3));
      case 'result-error-string':
        return Result.error('rejected');
      case 'throw':
        await this.acts.ok(1);
        throw new R3wError('thrown', 5);
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
defineWorkflow(R3wFlow, { name: 'R3wFlow' });
class R3wShort {
  async run(): Promise<string> {
    await Stent.sleep('10s');
    return 'late';
  }
}
defineWorkflow(R3wShort, { name: 'R3wShort', maxDuration: '400ms' });

describe.each(DIALECTS)('waitFor in the process that ran the execution vs a fresh reader on %s', (dialect) => {
  let set: ExecutorSet;
  afterEach(async () => {
    await set?.dispose();
  });

  const kinds = ['value', 'result-ok', 'result-error', 'result-error-string', 'throw', 'activity-failed', 'undefined'];

  it('gives the same Result for every way a run can end', async () => {
    set = await ExecutorSet.create(dialect);
    const acts = new R3wActs();
    const worker = await set.executor([acts, new R3wFlow(acts), new R3wShort()]);
    const reader = await set.executor([acts, new R3wFlow(acts), new R3wShort()], false);
    const rows: Array<{ kind: string; local: unknown; fresh: unknown }> = [];
    for (const kind of kinds) {
      const id = await worker.dispatch(R3wFlow, [kind]);
      const local = await outcomeShape(worker, id); // listening before the end: the in-process fast path
      const fresh = await outcomeShape(reader, id);
      rows.push({ kind, local, fresh });
    }
    // cancelled and timed out
    const cancelId = await worker.dispatch(R3wFlow, ['signal']);
    const localCancel = outcomeShape(worker, cancelId);
    await waitUntil(async () => (await worker.getJournal(cancelId)).length === 1, 'the signal wait');
    await reader.cancel(cancelId);
    rows.push({ kind: 'cancelled', local: await localCancel, fresh: await outcomeShape(reader, cancelId) });
    const shortId = await worker.dispatch(R3wShort, []);
    rows.push({ kind: 'timed_out', local: await outcomeShape(worker, shortId), fresh: await outcomeShape(reader, shortId) });
    for (const row of rows) expect(row.local, row.kind).toEqual(row.fresh);
  });
});
