import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { finalStateOf } from '../support/wait.js';
import { createHarness, type Harness } from '../support/executor-set.js';

const counts: Record<string, number> = {};
const bump = (name: string) => (counts[name] = (counts[name] ?? 0) + 1);
let requiredBroken = true;

class OptionalAndRequiredActs {
  /** Non-critical: always fails for good; the parent catches it. */
  async optional(): Promise<string> {
    bump('optional');
    throw new Error('optional service down');
  }
  async compensate(): Promise<string> {
    bump('compensate');
    return 'compensated';
  }
  /** Called by the child: fails for good until the fix is deployed. */
  async required(): Promise<string> {
    bump('required');
    if (requiredBroken) throw new Error('required service down');
    return 'required-ok';
  }
}
defineActivity(OptionalAndRequiredActs, { name: 'OptionalAndRequiredActs', retry: { maxAttempts: 1 } });

class RequiredChild {
  constructor(private readonly acts: OptionalAndRequiredActs) {}
  async run(): Promise<string> {
    return this.acts.required(); // the child's position 0
  }
}
defineWorkflow(RequiredChild, { name: 'RequiredChild' });

/** Catches and compensates a failure at its position 0, then lets a child's failure through. */
class CompensatingParent {
  constructor(
    private readonly acts: OptionalAndRequiredActs,
    private readonly child: RequiredChild,
  ) {}
  async run(): Promise<string> {
    let note = 'optional-ok';
    try {
      await this.acts.optional(); // position 0: dead-lettered, caught
    } catch {
      note = await this.acts.compensate(); // position 1
    }
    const value = await this.child.run(); // position 2: fails with ActivityFailedError (its position 0 is the CHILD's)
    return `${note}/${value}`;
  }
}
defineWorkflow(CompensatingParent, { name: 'CompensatingParent' });

/** Just a child; its failure ends the parent. */
class PlainParent {
  constructor(
    private readonly acts: OptionalAndRequiredActs,
    private readonly child: RequiredChild,
  ) {}
  async run(): Promise<string> {
    const compensated = await this.acts.compensate(); // position 0
    return `${compensated}/${await this.child.run()}`; // position 1
  }
}
defineWorkflow(PlainParent, { name: 'PlainParent' });

describe.each(DIALECTS)('retry of a parent that failed because of its child on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    requiredBroken = true;
    for (const key of Object.keys(counts)) delete counts[key];
    await harness?.dispose();
  });

  function instances() {
    const acts = new OptionalAndRequiredActs();
    const child = new RequiredChild(acts);
    return [acts, child, new CompensatingParent(acts, child), new PlainParent(acts, child)];
  }

  it('retry() does not re-run the parent step the workflow caught and compensated (the position came from the child)', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(CompensatingParent, []);
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    expect(counts).toEqual({ optional: 1, compensate: 1, required: 1 });

    requiredBroken = false;
    await harness.executor.retry(id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    expect((await harness.executor.waitFor(id, { timeout: '1s' })).value).toBe('compensated/required-ok');
    // optional failed for good and was handled; compensate completed: neither may run again
    expect(counts).toEqual({ optional: 1, compensate: 1, required: 2 });
  });

  it('retry() of a parent whose child failed on a since-fixed activity completes', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(PlainParent, []);
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    requiredBroken = false;
    await harness.executor.retry(id);
    const state = await finalStateOf(harness.executor, id);
    expect({ state, counts }).toEqual({ state: 'completed', counts: { compensate: 1, required: 2 } });
  });

  it("dlq.replay of the child's dead letter, then retry() of the parent, completes the parent", async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(PlainParent, []);
    expect(await finalStateOf(harness.executor, id)).toBe('failed');
    requiredBroken = false;
    const letters = (await harness.executor.dlq.list()).items;
    expect(letters.map((l) => l.name)).toEqual(['OptionalAndRequiredActs.required']);
    const { executionId: childId } = await harness.executor.dlq.replay(letters[0]!.id);
    expect(await finalStateOf(harness.executor, childId)).toBe('completed');
    await harness.executor.retry(id);
    expect(await finalStateOf(harness.executor, id)).toBe('completed');
    expect((await harness.executor.waitFor(id, { timeout: '1s' })).value).toBe('compensated/required-ok');
  });
});
