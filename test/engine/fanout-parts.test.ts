import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, FAST_WORKER, type Harness } from '../support/executor-set.js';
import { openInspector, type Inspector } from '../support/inspector.js';
import { capture } from '../support/statement-capture.js';

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

/**
 * The first part claims its activities as it is inserted, as many as there are free slots; the others
 * wait for claims. A later part must then claim none at insert: its slots would stand idle for the whole
 * write (long for a thousand rows on a busy PostgreSQL) while the written steps wait for them. On
 * PostgreSQL that made a 20,000-call fan-out start its first 2,000 activities 100 a part, one part per
 * write (9 of its 16 seconds). A step claimed at insert starts at its call's time (started_at =
 * created_at); one a claim takes starts when that claim runs, after its part is written, so later.
 */
const CLAIMED_CALLS = 3_500;
const PART = 1_000;

class InstantActs {
  async echo(i: number): Promise<number> {
    return i;
  }
}
defineActivity(InstantActs, { retry: { maxAttempts: 1 } });

class InstantPartsFlow {
  constructor(private readonly acts: InstantActs) {}
  async run(n: number): Promise<number> {
    const results = await Promise.all(Array.from({ length: n }, (_, i) => this.acts.echo(i)));
    return results.length;
  }
}
defineWorkflow(InstantPartsFlow);

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

  it(`writes the parts of ${CLAIMED_CALLS} calls in short statements: a parameter a column on PostgreSQL, 32 rows a statement on SQLite`, async () => {
    const acts = new InstantActs();
    harness = await createHarness(dialect, [acts, new InstantPartsFlow(acts)], { ...FAST_WORKER, concurrency: 10, suspendAfter: '1h' });
    const sent = await capture(async () => {
      const id = await harness!.executor.dispatch(InstantPartsFlow, [CLAIMED_CALLS]);
      expect((await harness!.executor.waitFor<number>(id, { timeout: '120s' })).value).toBe(CLAIMED_CALLS);
    });
    const inserts = sent.filter((statement) => /^\s*(WITH [\s\S]*)?INSERT INTO \S*stent_steps/.test(statement.sql));
    // A part is written with the results handed to the workflow meanwhile, so parts after the first go in
    // a transaction of their own: at least one statement a part.
    expect(inserts.length).toBeGreaterThanOrEqual(Math.ceil(CLAIMED_CALLS / PART));
    for (const statement of inserts) {
      // Texts that bind one parameter a column on PostgreSQL, where a row of 27 values a call made a part's
      // text bind 27,000 and be parsed and planned at its send; on SQLite, 32 rows a statement at most.
      if (dialect === 'postgres') expect(statement.params.length, statement.sql.slice(0, 60)).toBeLessThan(200);
      else expect(Math.floor(statement.params.length / 27), statement.sql.slice(0, 60)).toBeLessThanOrEqual(32);
    }
  });

  it(`claims activities at insert in the first part of ${CLAIMED_CALLS} calls only; claims take the rest`, async () => {
    const acts = new InstantActs();
    harness = await createHarness(dialect, [acts, new InstantPartsFlow(acts)], { ...FAST_WORKER, concurrency: 10, suspendAfter: '1h' });
    inspector = await openInspector(harness.db);
    const id = await harness.executor.dispatch(InstantPartsFlow, [CLAIMED_CALLS]);
    expect((await harness.executor.waitFor<number>(id, { timeout: '120s' })).value).toBe(CLAIMED_CALLS);
    const claimedAtInsert = (where: string) =>
      inspector!.scalar(`SELECT COUNT(*) FROM ${inspector!.t.steps} WHERE execution_id = ? AND started_at = created_at AND ${where}`, [id]);
    // The first part still takes the free slots as it is written...
    expect(await claimedAtInsert(`position < ${PART}`)).toBeGreaterThan(0);
    // ...and no later part does while earlier steps wait for claims.
    expect(await claimedAtInsert(`position >= ${PART}`)).toBe(0);
  });
});
