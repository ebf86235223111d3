import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, FAST_WORKER, type Harness } from '../support/executor-set.js';
import { openInspector, type Inspector } from '../support/inspector.js';

/**
 * A wide fan-out is written in parts of 1,000 steps. The activities of the first part run, and their
 * results reach the workflow, while the later parts are still being written: with a synchronous driver
 * (better-sqlite3) the parts once ran back to back without giving the event loop a turn, so no activity
 * needing a macrotask could finish, and every result of the fan-out's first parts waited (held in memory)
 * until the last part was written.
 */

const CALLS = 5_000;

/** What the activity bodies saw; reset for each test. */
let seen = { stepRows: [] as number[], resultsBefore: [] as number[] };
/** Results handed to the workflow so far. */
let handed = 0;
/** How many bodies look at the table (the first ones are what the test is about). */
const LOOKS = 300;
let looked = 0;
let reading: Promise<unknown> = Promise.resolve();
let inspector: Inspector | undefined;
let stepsTable = '';

class MacrotaskActs {
  /** Needs one macrotask to finish, then notes how much of the fan-out was written by then. */
  async tick(i: number): Promise<number> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (looked++ < LOOKS) {
      const before = handed;
      // One query at a time on the inspector's connection.
      const count = reading.then(() => inspector!.scalar(`SELECT COUNT(*) FROM ${stepsTable}`));
      reading = count.catch(() => undefined);
      seen.stepRows.push(await count);
      seen.resultsBefore.push(before);
    }
    return i;
  }
}
defineActivity(MacrotaskActs, { retry: { maxAttempts: 1 } });

class PartsFlow {
  constructor(private readonly acts: MacrotaskActs) {}
  async run(n: number): Promise<number> {
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        this.acts.tick(i).then((value) => {
          handed++;
          return value;
        }),
      ),
    );
    return results.reduce((sum, value) => sum + value, 0);
  }
}
defineWorkflow(PartsFlow);

describe.each(DIALECTS)('a wide fan-out written in parts on %s', (dialect) => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await inspector?.close();
    await harness?.dispose();
    harness = inspector = undefined;
  });

  it(`runs and delivers the first activities of ${CALLS} calls before the last part is written`, async () => {
    seen = { stepRows: [], resultsBefore: [] };
    handed = looked = 0;
    reading = Promise.resolve();
    const acts = new MacrotaskActs();
    harness = await createHarness(dialect, [acts, new PartsFlow(acts)], { ...FAST_WORKER, concurrency: 20, suspendAfter: '1h' });
    inspector = await openInspector(harness.db);
    stepsTable = inspector.t.steps;

    const id = await harness.executor.dispatch(PartsFlow, [CALLS]);
    const outcome = await harness.executor.waitFor<number>(id, { timeout: '120s' });
    expect(outcome.value).toBe((CALLS * (CALLS - 1)) / 2);
    expect(seen.stepRows).toHaveLength(LOOKS);
    // The first bodies finished while the fan-out was only partly written...
    expect(Math.min(...seen.stepRows)).toBeLessThan(CALLS);
    // ...and some body saw earlier results already handed to the workflow while parts were still missing.
    const handedWhileWriting = seen.stepRows.some((rows, i) => rows < CALLS && seen.resultsBefore[i]! > 0);
    expect(handedWhileWriting, 'a result reached the workflow before the last part was written').toBe(true);
  });
});
