import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, REPLAYING_WORKER, Gate, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/**
 * Two concurrent branches, each making two sequential durable calls. Branch B's first call finishes
 * before branch A's, so B's second call takes position 2 and A's second call position 3. A replay
 * (forced by a sleep longer than suspendAfter) must answer each call with its own recorded result.
 */
let slowGate = new Gate();
const ran: string[] = [];

class BranchActs {
  async slowA(): Promise<string> {
    ran.push('slowA');
    await slowGate.wait();
    return 'a1';
  }
  async fastB(): Promise<string> {
    ran.push('fastB');
    return 'b1';
  }
  async afterA(x: string): Promise<string> {
    ran.push('afterA');
    return `afterA(${x})`;
  }
  async afterB(x: string): Promise<string> {
    ran.push('afterB');
    return `afterB(${x})`;
  }
  async echo(x: string): Promise<string> {
    ran.push(`echo:${x}`);
    return `echo:${x}`;
  }
}
defineActivity(BranchActs, { name: 'BranchActs', retry: { maxAttempts: 1 } });

class TwoBranches {
  constructor(private readonly acts: BranchActs) {}
  async run(): Promise<string[]> {
    const result = await Promise.all([
      (async () => this.acts.afterA(await this.acts.slowA()))(),
      (async () => this.acts.afterB(await this.acts.fastB()))(),
    ]);
    await Stent.sleep('900ms'); // > suspendAfter (300ms): suspended, then replayed from the journal
    return result;
  }
}
defineWorkflow(TwoBranches, { name: 'TwoBranches' });

/** Same shape, but both branches' second call is the same activity with different arguments. */
class TwoBranchesSameName {
  constructor(private readonly acts: BranchActs) {}
  async run(): Promise<string[]> {
    const result = await Promise.all([
      (async () => {
        await this.acts.slowA();
        return this.acts.echo('from-A');
      })(),
      (async () => {
        await this.acts.fastB();
        return this.acts.echo('from-B');
      })(),
    ]);
    await Stent.sleep('900ms');
    return result;
  }
}
defineWorkflow(TwoBranchesSameName, { name: 'TwoBranchesSameName' });

/** A race between a signal and a timer: the timer wins, the signal arrives later; then a long sleep forces a replay. */
class SignalOrTimer {
  constructor(private readonly acts: BranchActs) {}
  async run(): Promise<string> {
    const signal = Stent.waitForSignal<string>('late').then((value) => `signal:${value}`);
    const winner = await Promise.race([signal, Stent.sleep('150ms').then(() => 'timer')]);
    const late = await signal;
    await Stent.sleep('900ms');
    return `${winner} then ${late} ${await this.acts.echo(winner)}`;
  }
}
defineWorkflow(SignalOrTimer, { name: 'SignalOrTimer' });

describe.each(DIALECTS)('replay of concurrent branches on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    slowGate.open();
    slowGate = new Gate();
    ran.length = 0;
    await harness?.dispose();
  });

  async function runScenario(workflow: typeof TwoBranches | typeof TwoBranchesSameName) {
    const acts = new BranchActs();
    harness = await createHarness(dialect, [acts, new TwoBranches(acts), new TwoBranchesSameName(acts), new SignalOrTimer(acts)], REPLAYING_WORKER);
    const id = await harness.executor.dispatch(workflow as typeof TwoBranches, []);
    // B's second call is journaled (position 2) while A's first call is still running.
    await waitUntil(async () => (await harness.executor.getJournal(id)).filter((s) => s.state === 'completed').length >= 2, 'B branch to finish');
    slowGate.open();
    const result = await harness.executor.waitFor<string[]>(id, { timeout: '20s' });
    return { id, result };
  }

  it('a replay after suspension does not raise NonDeterminismError when branch B finished first', async () => {
    const { id, result } = await runScenario(TwoBranches);
    const journal = await harness.executor.getJournal(id);
    expect(journal.map((s) => s.name).slice(0, 4)).toEqual(['BranchActs.slowA', 'BranchActs.fastB', 'BranchActs.afterB', 'BranchActs.afterA']);
    expect({ state: result.state, error: result.error?.message }).toEqual({ state: 'completed', error: undefined });
    expect(result.value).toEqual(['afterA(a1)', 'afterB(b1)']);
  });

  it('a replay after suspension hands each branch its own recorded result (same activity name)', async () => {
    const { result } = await runScenario(TwoBranchesSameName);
    expect(result.state).toBe('completed');
    expect(result.value).toEqual(['echo:from-A', 'echo:from-B']);
  });

  it('a race won by a timer is still won by the timer when replayed, though the signal is in the journal too', async () => {
    const acts = new BranchActs();
    harness = await createHarness(dialect, [acts, new TwoBranches(acts), new TwoBranchesSameName(acts), new SignalOrTimer(acts)], REPLAYING_WORKER);
    const id = await harness.executor.dispatch(SignalOrTimer, []);
    await waitUntil(async () => (await harness.executor.getJournal(id)).find((s) => s.kind === 'sleep')?.state === 'completed', 'the timer to fire');
    await harness.executor.sendSignal(id, 'late', 'hello');
    const result = await harness.executor.waitFor<string>(id, { timeout: '20s' });
    expect(result.value).toBe('timer then signal:hello echo:timer');
    expect(ran.filter((entry) => entry.startsWith('echo:'))).toEqual(['echo:timer']);
  });
});
