import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, REPLAYING_WORKER, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/**
 * Stent.sleep(0) (or a negative duration, e.g. "sleep until a time already past") resolves at once in the
 * original run. A replay must hand it back before anything that settled later, or a race it won is lost.
 */
const ran: string[] = [];

class ZeroSleepActs {
  async quick(x: string): Promise<string> {
    ran.push(`quick:${x}`);
    return `q:${x}`;
  }
  async echo(x: string): Promise<string> {
    ran.push(`echo:${x}`);
    return `echo:${x}`;
  }
}
defineActivity(ZeroSleepActs, { name: 'ZeroSleepActs', retry: { maxAttempts: 1 } });

class ZeroSleepRace {
  constructor(private readonly acts: ZeroSleepActs) {}
  async run(ms: number): Promise<string> {
    const p = this.acts.quick('a'); // position 0
    const first = await Promise.race([Stent.sleep(ms).then(() => 'timer'), p.then(() => 'act')]); // sleep: position 1
    Stent.setState('firstRun', first); // a recorded effect: written by the original run only
    // p completes while the long sleep is also outstanding: its delivery order is recorded.
    await Promise.all([p, Stent.sleep('800ms')]); // > suspendAfter (300ms): suspended, then replayed
    return `${first}|${await this.acts.echo(first)}`;
  }
}
defineWorkflow(ZeroSleepRace, { name: 'ZeroSleepRace' });

/** Same idea without a race: the order the branches observe decides which value is recorded next. */
class ZeroSleepOrder {
  constructor(private readonly acts: ZeroSleepActs) {}
  async run(): Promise<string> {
    const seen: string[] = [];
    const p = this.acts.quick('b').then(() => seen.push('act'));
    const t = Stent.sleep(0).then(() => seen.push('timer'));
    await Promise.all([p, t, Stent.sleep('800ms')]);
    return `${seen.join(',')}|${await this.acts.echo(seen.join(','))}`;
  }
}
defineWorkflow(ZeroSleepOrder, { name: 'ZeroSleepOrder' });

describe.each(DIALECTS)('replay of an immediate sleep on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    ran.length = 0;
    await harness?.dispose();
  });

  async function start() {
    const acts = new ZeroSleepActs();
    harness = await createHarness(dialect, [acts, new ZeroSleepRace(acts), new ZeroSleepOrder(acts)], REPLAYING_WORKER);
    const suspended: string[] = [];
    harness.executor.events.on('execution.suspended', (event: { executionId: string }) => suspended.push(event.executionId));
    return suspended;
  }

  for (const ms of [0]) {
    it(`a race won by Stent.sleep(${ms}) is still won by it after a replay`, async () => {
      const suspended = await start();
      const id = await harness.executor.dispatch(ZeroSleepRace, [ms]);
      const result = await harness.executor.waitFor<string>(id, { timeout: '20s' });
      expect(suspended).toContain(id); // the replay really happened
      expect((await harness.executor.getExecution(id)).customState).toEqual({ firstRun: 'timer' }); // what the original run saw
      expect({ state: result.state, error: result.error?.message, value: result.value }).toEqual({ state: 'completed', error: undefined, value: 'timer|echo:timer' });
      expect(ran).toEqual(['quick:a', 'echo:timer']);
    });
  }

  it('branches see Stent.sleep(0) before a later activity result on replay too', async () => {
    const suspended = await start();
    const id = await harness.executor.dispatch(ZeroSleepOrder, []);
    await waitUntil(() => suspended.includes(id), 'suspension');
    const result = await harness.executor.waitFor<string>(id, { timeout: '20s' });
    expect({ state: result.state, error: result.error?.message, value: result.value }).toEqual({ state: 'completed', error: undefined, value: 'timer,act|echo:timer,act' });
    expect(ran).toEqual(['quick:b', 'echo:timer,act']);
  });
});
