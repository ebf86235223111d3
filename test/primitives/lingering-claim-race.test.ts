import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, StentExecutor, type StentStore } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';

/**
 * A body that ignores its timeout keeps its activity's maxConcurrent slot until it returns. A claim counts
 * such bodies when it builds its filter; the database counts the step as running until its outcome is
 * written. A claim whose filter was built while the body's attempt still ran, and whose statement runs
 * after that outcome is written, counts it on neither side, and must not start another body.
 */
let running = 0;
let maxRunning = 0;
const bodies: Array<Promise<void>> = [];

class CappedStubborn {
  async slow(i: number): Promise<number> {
    running++;
    maxRunning = Math.max(maxRunning, running);
    const done = new Promise<void>((resolve) => setTimeout(resolve, 800));
    bodies.push(done);
    await done;
    running--;
    return i;
  }
}
defineActivity(CappedStubborn, { name: 'RaceCappedStubborn', maxConcurrent: 1, timeout: '100ms', retry: { maxAttempts: 1 } });

class TwoCapped {
  constructor(private readonly acts: CappedStubborn) {}
  async run(): Promise<unknown> {
    return (await Promise.allSettled([this.acts.slow(0), this.acts.slow(1)])).map((r) => r.status);
  }
}
defineWorkflow(TwoCapped, { name: 'RaceTwoCapped' });

/**
 * Holds the first claim of steps made while a body runs until the store has written an outcome (or
 * `holdMs` passed): the claim's filter is built before, its statement runs after.
 */
function holdClaimPastOutcome(store: StentStore, holdMs: number): StentStore {
  let outcomeWritten!: () => void;
  const written = new Promise<void>((resolve) => (outcomeWritten = resolve));
  let held = false;
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property === 'claimSteps') {
        return async (...args: Parameters<StentStore['claimSteps']>) => {
          if (!held && running > 0) {
            held = true;
            await Promise.race([written, new Promise((resolve) => setTimeout(resolve, holdMs))]);
          }
          return target.claimSteps(...args);
        };
      }
      if (property === 'completeSteps') {
        return async (...args: Parameters<StentStore['completeSteps']>) => {
          const owned = await target.completeSteps(...args);
          if (args[0].some((completion) => completion.outcome.kind === 'failed')) outcomeWritten();
          return owned;
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe.each(DIALECTS)('a claim racing the outcome of a body that outlives it (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await Promise.all(bodies.splice(0));
    running = maxRunning = 0;
    await set?.dispose();
    set = undefined;
  });

  it('a claim built before a timed-out attempt was decided does not start a body beyond maxConcurrent once the outcome is written', async () => {
    set = await ExecutorSet.create(dialect);
    const store = holdClaimPastOutcome(await createStentStore({ database: set.db.options }), 1_500);
    const executor = new StentExecutor({ store, worker: { concurrency: 4, pollInterval: '20ms', maxPollInterval: '100ms', lease: '10s' }, logger: set.logger });
    const acts = new CappedStubborn();
    executor.register(acts, new TwoCapped(acts));
    set.onCleanup(() => executor.close('5s').catch(() => undefined));
    await executor.start();

    const result = await executor.waitFor<string[]>(await executor.dispatch(TwoCapped, []), { timeout: '30s' });
    expect(result.value).toEqual(['rejected', 'rejected']);
    expect(maxRunning).toBe(1);
  });
});
