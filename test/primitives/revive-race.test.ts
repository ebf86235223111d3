import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { finalStateOf } from '../support/wait.js';
import { createHarness, type Harness } from '../support/executor-set.js';

const counts: Record<string, number> = {};
const bump = (name: string) => (counts[name] = (counts[name] ?? 0) + 1);
let broken = true;
const bodies: Array<Promise<unknown>> = [];

class SlowStopFastFailActs {
  /** Honours its AbortSignal, but needs 400 ms to wind down (closing a connection, say). */
  async slowToStop(): Promise<string> {
    bump('slowToStop');
    const { signal } = Stent.activity();
    const body = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => resolve('slow-ok'), 1200);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        setTimeout(() => reject(signal.reason), 400);
      });
    });
    bodies.push(body.catch(() => undefined));
    return body;
  }
  async failsFast(): Promise<string> {
    bump('failsFast');
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (broken) throw new Error('fails fast');
    return 'fast-ok';
  }
}
defineActivity(SlowStopFastFailActs, { name: 'SlowStopFastFailActs', retry: { maxAttempts: 1 } });

class SlowBesideFastFailure {
  constructor(private readonly acts: SlowStopFastFailActs) {}
  async run(): Promise<string[]> {
    return Promise.all([this.acts.slowToStop(), this.acts.failsFast()]);
  }
}
defineWorkflow(SlowBesideFastFailure, { name: 'SlowBesideFastFailure' });

describe.each(DIALECTS)('reviving while an aborted attempt is still winding down on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    await Promise.all(bodies.splice(0));
    broken = true;
    for (const key of Object.keys(counts)) delete counts[key];
    await harness?.dispose();
  });

  for (const how of ['dlq.replay', 'retry'] as const) {
    it(`${how} right after the failure completes (the aborted sibling's late outcome does not fail it again)`, async () => {
      const acts = new SlowStopFastFailActs();
      harness = await createHarness(dialect, [acts, new SlowBesideFastFailure(acts)]);
      const id = await harness.executor.dispatch(SlowBesideFastFailure, []);
      expect(await finalStateOf(harness.executor, id)).toBe('failed');
      broken = false;
      if (how === 'retry') await harness.executor.retry(id);
      else await harness.executor.dlq.replay((await harness.executor.dlq.list()).items[0]!.id);
      const state = await finalStateOf(harness.executor, id);
      const info = await harness.executor.getExecution(id);
      expect({ state, error: (info.result?.error as Error | undefined)?.message }).toEqual({ state: 'completed', error: undefined });
      expect((await harness.executor.waitFor(id, { timeout: '1s' })).value).toEqual(['slow-ok', 'fast-ok']);
    });
  }
});
