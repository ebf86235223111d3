import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, setActivityMethodOptions } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, FAST_WORKER, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/** Tags that only look alike: an SQL LIKE pattern or a case-insensitive match would confuse them. */
const WORKER_A_TAGS = ['GPU', 'eu_1', '%'];

class TagWho {
  constructor(readonly who: string) {}
  async run(x: string): Promise<string> {
    return `${this.who}:${x}`;
  }
}
defineWorkflow(TagWho, { name: 'TagWho' });

class TagActs {
  constructor(readonly who: string) {}
  async upper(): Promise<string> {
    return `${this.who}:upper`;
  }
  async underscore(): Promise<string> {
    return `${this.who}:underscore`;
  }
  async lower(): Promise<string> {
    return `${this.who}:lower`;
  }
  async dash(): Promise<string> {
    return `${this.who}:dash`;
  }
}
setActivityMethodOptions(TagActs.prototype, 'upper', { tags: ['GPU'] });
setActivityMethodOptions(TagActs.prototype, 'underscore', { tags: ['eu_1'] });
setActivityMethodOptions(TagActs.prototype, 'lower', { tags: ['gpu'] });
setActivityMethodOptions(TagActs.prototype, 'dash', { tags: ['eu-1'] });
defineActivity(TagActs, { name: 'TagActs' });

class TagSteps {
  constructor(private readonly acts: TagActs) {}
  async run(): Promise<string[]> {
    return Promise.all([this.acts.upper(), this.acts.underscore(), this.acts.lower(), this.acts.dash()]);
  }
}
defineWorkflow(TagSteps, { name: 'TagSteps' });

describe.each(DIALECTS)('tags match exactly on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  it('a worker takes executions carrying one of its tags exactly: no wildcards, case-sensitive', async () => {
    harness = await createHarness(dialect, [new TagWho('A')], { ...FAST_WORKER, tags: WORKER_A_TAGS });
    const { executor } = harness;
    // Older than the control below, so each claim round that took the control passed these over first.
    const lookalikes = [
      await executor.dispatch(TagWho, ['gpu'], { tags: ['gpu'] }),
      await executor.dispatch(TagWho, ['eu-1'], { tags: ['eu-1'] }),
      await executor.dispatch(TagWho, ['plain'], { tags: ['plain'] }),
    ];
    const control = await executor.dispatch(TagWho, ['eu_1'], { tags: ['eu_1'] });
    expect((await executor.waitFor(control, { timeout: '30s' })).value).toBe('A:eu_1');
    for (const id of lookalikes) expect(await executor.getExecution(id)).toMatchObject({ state: 'pending', startedAt: null });

    await harness.spawn({ ...FAST_WORKER, tags: ['gpu', 'eu-1', 'plain'] }, new TagWho('B'));
    const values = await Promise.all(lookalikes.map(async (id) => (await executor.waitFor(id, { timeout: '30s' })).value));
    expect(values).toEqual(['B:gpu', 'B:eu-1', 'B:plain']);
  });

  it('a worker claims activity steps carrying one of its tags exactly', async () => {
    // The workflow's worker has no TagActs, so every step is claimed from the database by A or B.
    harness = await createHarness(dialect, [new TagSteps(new TagActs('?'))]);
    const { executor } = harness;
    await harness.spawn({ ...FAST_WORKER, tags: WORKER_A_TAGS }, new TagActs('A'));
    const id = await executor.dispatch(TagSteps, []);
    const journal = await waitUntil(async () => {
      const steps = await executor.getJournal(id);
      return steps.filter((step) => step.state === 'completed').length === 2 ? steps : undefined;
    }, 'A to run the steps tagged GPU and eu_1');
    // All four steps were recorded in one batch: A's claims saw the lookalikes and passed them over.
    expect(journal.map((step) => [step.name, step.state, step.attempts])).toEqual([
      ['TagActs.upper', 'completed', 1],
      ['TagActs.underscore', 'completed', 1],
      ['TagActs.lower', 'pending', 0],
      ['TagActs.dash', 'pending', 0],
    ]);
    await harness.spawn({ ...FAST_WORKER, tags: ['gpu', 'eu-1'] }, new TagActs('B'));
    expect((await executor.waitFor(id, { timeout: '30s' })).value).toEqual(['A:upper', 'A:underscore', 'B:lower', 'B:dash']);
  });

  it('listExecutions({ tag }) matches whole tags exactly', async () => {
    harness = await createHarness(dialect, [new TagWho('A')], false);
    const { executor } = harness;
    const byTags = new Map<string, string>();
    for (const tags of [['eu_1'], ['eu-1'], ['GPU'], ['gpu'], ['a","b'], ['b'], ['100%']]) {
      byTags.set(tags[0]!, await executor.dispatch(TagWho, ['x'], { tags }));
    }
    const found = async (tag: string) => (await executor.listExecutions({ tag })).items.map((item) => item.id);
    expect(await found('eu_1')).toEqual([byTags.get('eu_1')]);
    expect(await found('GPU')).toEqual([byTags.get('GPU')]);
    expect(await found('b')).toEqual([byTags.get('b')]);
    expect(await found('a","b')).toEqual([byTags.get('a","b')]);
    expect(await found('%')).toEqual([]);
    expect(await found('100%')).toEqual([byTags.get('100%')]);
  });
});
