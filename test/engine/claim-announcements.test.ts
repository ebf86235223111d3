import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, ManualClock, StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { resultsOnStandingClock } from '../support/manual-time.js';
import { holdOneClaim } from '../support/held-claim.js';
import { waitUntil } from '../support/wait.js';

/** Keyed, so a step of it is never started at its insert: only a claim takes it. */
class AnnouncedSync {
  async sync(tenant: string): Promise<string> {
    return `synced ${tenant}`;
  }
}
defineActivity(AnnouncedSync, { name: 'AnnouncedSync', concurrency: { key: (args) => args[0] as string, limit: 1 } });

class OneSync {
  constructor(private readonly acts: AnnouncedSync) {}
  async run(tenant: string): Promise<string> {
    return this.acts.sync(tenant);
  }
}
defineWorkflow(OneSync, { name: 'AnnouncedOneSync' });

describe.each(DIALECTS)('work announced during a claim (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('a step announced while a claim of steps runs is claimed by the next round, not at the next poll', async () => {
    set = await ExecutorSet.create(dialect);
    // The clock stands still, so no poll comes: only the announcement can bring the step to a claim.
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const claims = holdOneClaim(await createStentStore({ database: set.db.options }));
    const executor = new StentExecutor({ store: claims.store, worker: { concurrency: 4, lease: '1d' }, logger: set.logger, clock });
    set.onCleanup(() => executor.close('2s'));
    const acts = new AnnouncedSync();
    executor.register(acts, new OneSync(acts));
    await executor.start();
    const { loop } = executor.worker!;
    // The start's own round ends first: held in its query of steps after this announcement had set the
    // workflow hint again, it left the dispatch below to a claim (no local start), which the hold blocked.
    await waitUntil(() => !loop.busy, 'the start-up claim round to end');

    // A claim round whose query of steps found nothing is held open...
    const held = claims.arm();
    loop.workAnnounced();
    await held;
    expect(loop.hints.workflows).toBe(false);
    // ...while a workflow's first step goes in and is announced; then the round ends, empty-handed.
    const id = await executor.dispatch(OneSync, ['acme']);
    await waitUntil(async () => (await executor.getJournal(id)).some((step) => step.state === 'pending'), 'the first step to be recorded');
    await new Promise((resolve) => setImmediate(resolve));
    claims.release();

    const [result] = await resultsOnStandingClock(executor, [id], 'held once', 20_000);
    expect(result!.ok && result!.value).toBe('synced acme');
  });
});
