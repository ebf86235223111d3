import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow, Result, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, REPLAYING_WORKER, type Harness } from '../support/executor-set.js';
import { overwriteExecution } from '../support/stored-rows.js';
import { waitUntil } from '../support/wait.js';

const DUE = new Date('2031-03-04T05:06:07.089Z');

class Tracked {
  async run(): Promise<string> {
    Stent.setProgress({ stage: 'waiting', since: DUE, slots: [1, undefined, 3] });
    Stent.setState('due', DUE);
    Stent.setState('outcome', Result.ok({ at: DUE }));
    Stent.setState('nothing', undefined);
    Stent.setState('__stent', 'date');
    await Stent.waitForSignal('go');
    Stent.setProgress(DUE);
    return 'done';
  }
}
defineWorkflow(Tracked, { name: 'ProgressStateTracked' });

describe.each(DIALECTS)('progress and custom state on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  it('keep Dates, Results and undefined like every other durable value, while running and after a replay', async () => {
    // suspendAfter is short: the signal wait suspends the run, so the end is reached by a replay.
    harness = await createHarness(dialect, [new Tracked()], REPLAYING_WORKER);
    const { executor } = harness;
    const id = await executor.dispatch(Tracked, []);
    const running = await waitUntil(async () => {
      const info = await executor.getExecution(id);
      return info.customState.__stent !== undefined ? info : undefined;
    }, 'the state to be recorded');
    const progress = running.progress as { stage: string; since: Date; slots: unknown[] };
    expect(progress.since).toBeInstanceOf(Date);
    expect(progress.since.getTime()).toBe(DUE.getTime());
    expect(progress.slots).toEqual([1, undefined, 3]);
    expect(running.customState.due).toBeInstanceOf(Date);
    expect((running.customState.outcome as Result<{ at: Date }, unknown>).value!.at).toBeInstanceOf(Date);
    expect('nothing' in running.customState && running.customState.nothing === undefined).toBe(true);
    expect(running.customState.__stent).toBe('date');

    await waitUntil(async () => (await executor.getExecution(id)).leaseOwner === null, 'the run to suspend');
    await executor.sendSignal(id, 'go', null);
    expect((await executor.waitFor(id, { timeout: '20s' })).value).toBe('done');
    const done = await executor.getExecution(id);
    expect(done.progress).toBeInstanceOf(Date);
    expect(done.customState.due).toBeInstanceOf(Date);
  });

  it('progress and state stored as plain JSON by earlier versions still read back', async () => {
    harness = await createHarness(dialect, [new Tracked()], false);
    const id = await harness.executor.dispatch(Tracked, []);
    await overwriteExecution(harness.db, id, {
      progress: JSON.stringify({ stage: 'old', since: DUE.toISOString() }),
      custom_state: JSON.stringify({ due: DUE.toISOString(), count: 2, nested: { list: [null, 'x'] } }),
    });
    const info = await harness.executor.getExecution(id);
    expect(info.progress).toEqual({ stage: 'old', since: DUE.toISOString() });
    expect(info.customState).toEqual({ due: DUE.toISOString(), count: 2, nested: { list: [null, 'x'] } });
  });
});
