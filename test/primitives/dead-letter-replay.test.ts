import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, Gate, type Harness } from '../support/executor-set.js';
import { finalStateOf, waitUntil } from '../support/wait.js';

const counts: Record<string, number> = {};
const bump = (name: string) => (counts[name] = (counts[name] ?? 0) + 1);
let broken = true;
let bodyBroken = true;
let flakyGate = new Gate();

class DlqActs {
  /** Fails (for good: maxAttempts 1) while `broken`, after the test opens the gate. */
  async flaky(): Promise<string> {
    bump('flaky');
    if (broken) {
      await flakyGate.wait();
      throw new Error('flaky down');
    }
    return 'flaky-ok';
  }
  async steady(): Promise<string> {
    bump('steady');
    return 'steady-ok';
  }
  async charge(): Promise<string> {
    bump('charge');
    if (broken) throw new Error('card declined');
    return 'charged';
  }
  /** Honours its AbortSignal, as activities are told to: ends when aborted or after 3 s. */
  async polite(): Promise<string> {
    bump('polite');
    const { signal } = Stent.activity();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, 3000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
    return 'polite-ok';
  }
  async failsFast(): Promise<string> {
    bump('failsFast');
    if (broken) throw new Error('fails fast');
    return 'fast-ok';
  }
  async compensate(): Promise<string> {
    bump('compensate');
    return 'compensated';
  }
}
defineActivity(DlqActs, { name: 'DlqActs', retry: { maxAttempts: 1 } });

/** flaky at position 0, steady at position 1; steady completes, then flaky fails for good. */
class FanOutThenFail {
  constructor(private readonly acts: DlqActs) {}
  async run(): Promise<string[]> {
    return Promise.all([this.acts.flaky(), this.acts.steady()]);
  }
}
defineWorkflow(FanOutThenFail, { name: 'FanOutThenFail' });

/** flaky at position 0, a signal wait at position 1 that consumes 'go'. */
class FailBesideSignal {
  constructor(private readonly acts: DlqActs) {}
  async run(): Promise<unknown[]> {
    return Promise.all([this.acts.flaky(), Stent.waitForSignal('go')]);
  }
}
defineWorkflow(FailBesideSignal, { name: 'FailBesideSignal' });

/** A durable timer at position 0 beside an activity (position 1) that fails for good. */
class SleepBesideFailure {
  constructor(private readonly acts: DlqActs) {}
  async run(): Promise<unknown[]> {
    return Promise.all([Stent.sleep('1500ms'), this.acts.failsFast()]);
  }
}
defineWorkflow(SleepBesideFailure, { name: 'SleepBesideFailure' });

/** A signal wait at position 0 beside an activity (position 1) that fails for good. */
class SignalBesideFailure {
  constructor(private readonly acts: DlqActs) {}
  async run(): Promise<unknown[]> {
    return Promise.all([Stent.waitForSignal('later'), this.acts.failsFast()]);
  }
}
defineWorkflow(SignalBesideFailure, { name: 'SignalBesideFailure' });

/** A long activity that honours its AbortSignal (position 0) beside one that fails for good (position 1). */
class PoliteBesideFailure {
  constructor(private readonly acts: DlqActs) {}
  async run(): Promise<unknown[]> {
    return Promise.all([this.acts.polite(), this.acts.failsFast()]);
  }
}
defineWorkflow(PoliteBesideFailure, { name: 'PoliteBesideFailure' });

class Notify {
  async run(what: string): Promise<string> {
    bump(`notify:${what}`);
    return `notified ${what}`;
  }
}
defineWorkflow(Notify, { name: 'Notify' });

/** Saga: on a failed charge a notification child runs, then the error is rethrown. */
class ChargeSaga {
  constructor(
    private readonly acts: DlqActs,
    private readonly notify: Notify,
  ) {}
  async run(): Promise<string> {
    try {
      await this.acts.charge();
    } catch (error) {
      await this.notify.run('failure');
      throw error;
    }
    return this.notify.run('success');
  }
}
defineWorkflow(ChargeSaga, { name: 'ChargeSaga' });

/** An activity failure that is caught and compensated; then a bug in the workflow body throws. */
class CompensateThenBodyThrows {
  constructor(private readonly acts: DlqActs) {}
  async run(): Promise<string> {
    let note = 'charged';
    try {
      await this.acts.charge();
    } catch {
      note = await this.acts.compensate();
    }
    if (bodyBroken) throw new Error('bug in the workflow body');
    return note;
  }
}
defineWorkflow(CompensateThenBodyThrows, { name: 'CompensateThenBodyThrows' });

/** Starts a long activity, then a bug in the body throws while it runs (no dead letter involved). */
class BodyThrowsBesidePolite {
  constructor(private readonly acts: DlqActs) {}
  async run(): Promise<string[]> {
    const long = this.acts.polite();
    const quick = await this.acts.steady();
    if (bodyBroken) throw new Error('bug in the workflow body');
    return [await long, quick];
  }
}
defineWorkflow(BodyThrowsBesidePolite, { name: 'BodyThrowsBesidePolite' });

describe.each(DIALECTS)('dead-letter replay on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    flakyGate.open();
    flakyGate = new Gate();
    broken = true;
    bodyBroken = true;
    for (const key of Object.keys(counts)) delete counts[key];
    await harness?.dispose();
  });

  function instances() {
    const acts = new DlqActs();
    const notify = new Notify();
    return [acts, notify, new FanOutThenFail(acts), new FailBesideSignal(acts), new ChargeSaga(acts, notify), new CompensateThenBodyThrows(acts), new SleepBesideFailure(acts), new SignalBesideFailure(acts), new PoliteBesideFailure(acts), new BodyThrowsBesidePolite(acts)];
  }

  it('dlq.replay does not run again an activity that completed at a later journal position (Promise.all)', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(FanOutThenFail, []);
    await waitUntil(async () => (await harness.executor.getJournal(id)).find((s) => s.position === 1)?.state === 'completed', 'steady to complete');
    flakyGate.open();
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    expect(counts).toEqual({ flaky: 1, steady: 1 });

    broken = false;
    const [letter] = (await harness.executor.dlq.list()).items;
    await harness.executor.dlq.replay(letter!.id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    expect(counts).toEqual({ flaky: 2, steady: 1 }); // steady completed before: answered from the journal
  });

  it('dlq.replay keeps a signal consumed at a later journal position (it is not lost)', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(FailBesideSignal, []);
    await harness.executor.sendSignal(id, 'go', 'payload-1');
    await waitUntil(async () => (await harness.executor.getJournal(id)).find((s) => s.position === 1)?.state === 'completed', 'the signal to be consumed');
    flakyGate.open();
    expect(await finalStateOf(harness.executor, id)).toBe('failed');

    broken = false;
    const [letter] = (await harness.executor.dlq.list()).items;
    await harness.executor.dlq.replay(letter!.id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    expect((await harness.executor.waitFor(id, { timeout: '1s' })).value).toEqual(['flaky-ok', 'payload-1']);
  });

  it('dlq.replay of a saga whose failure path started a child workflow completes (no wedge on the old child id)', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(ChargeSaga, []);
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    expect(counts).toEqual({ charge: 1, 'notify:failure': 1 });

    broken = false;
    const [letter] = (await harness.executor.dlq.list()).items;
    await harness.executor.dlq.replay(letter!.id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    expect((await harness.executor.waitFor(id, { timeout: '1s' })).value).toBe('notified success');
  });

  it('retry() of a failure thrown by the workflow body replays from the journal, not an older caught dead letter', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(CompensateThenBodyThrows, []);
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    expect(counts).toEqual({ charge: 1, compensate: 1 });

    bodyBroken = false; // the bug is fixed and deployed; the card is still declined
    await harness.executor.retry(id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    expect((await harness.executor.waitFor(id, { timeout: '1s' })).value).toBe('compensated');
    expect(counts).toEqual({ charge: 1, compensate: 1 }); // completed steps are answered from the journal
  });

  it('dlq.replay revives an execution whose earlier signal wait was cancelled by the failure (the signal sent after replay is received)', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(SignalBesideFailure, []);
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    broken = false;
    const [letter] = (await harness.executor.dlq.list()).items;
    await harness.executor.dlq.replay(letter!.id);
    await harness.executor.sendSignal(id, 'later', 'sig');
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
  });

  it('dlq.replay revives an execution whose earlier sleep step was cancelled by the failure (no hang)', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(SleepBesideFailure, []);
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    broken = false;
    const [letter] = (await harness.executor.dlq.list()).items;
    await harness.executor.dlq.replay(letter!.id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
  });

  it('dlq.replay revives an execution whose earlier activity was aborted by the failure (no hang)', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(PoliteBesideFailure, []);
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    await waitUntil(async () => (await harness.executor.getJournal(id))[0]?.state !== 'running', 'the aborted activity to be recorded');
    broken = false;
    const [letter] = (await harness.executor.dlq.list()).items;
    await harness.executor.dlq.replay(letter!.id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    expect((await harness.executor.waitFor(id, { timeout: '1s' })).value).toEqual(['polite-ok', 'fast-ok']);
  });

  it('retry() after the fix completes even though the failure cancelled a running activity', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(BodyThrowsBesidePolite, []);
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    await waitUntil(async () => (await harness.executor.getJournal(id))[0]?.state !== 'running', 'the aborted activity to be recorded');
    expect((await harness.executor.dlq.list()).total).toBe(0);
    bodyBroken = false;
    await harness.executor.retry(id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    expect((await harness.executor.waitFor(id, { timeout: '1s' })).value).toEqual(['polite-ok', 'steady-ok']);
  });
});
