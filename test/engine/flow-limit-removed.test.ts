import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, ManualClock, RateLimitedError } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { openInspector } from '../support/inspector.js';
import { MANUAL_WORKER, nudgeUntil } from '../support/manual-time.js';


/** The partner call as an earlier deploy defined it: one call per tenant at a time, and the partner says "retry in 30 s". */
class LimitedPartner {
  calls = 0;
  async call(tenant: string): Promise<string> {
    this.calls++;
    throw new RateLimitedError({ retryAfter: '30s' });
  }
}
defineActivity(LimitedPartner, { name: 'RemovedLimitPartner', concurrency: { key: (args) => args[0] as string, limit: 1 }, retry: { maxAttempts: 1 } });

class LimitedFlow {
  constructor(private readonly api: LimitedPartner) {}
  async run(tenant: string): Promise<string> {
    return this.api.call(tenant);
  }
}
defineWorkflow(LimitedFlow, { name: 'RemovedLimitFlow' });

/** The same activity and workflow after a deploy that removed the limit. */
class PlainPartner {
  async call(tenant: string): Promise<string> {
    return `called for ${tenant}`;
  }
}
defineActivity(PlainPartner, { name: 'RemovedLimitPartner' });

class PlainFlow {
  constructor(private readonly api: PlainPartner) {}
  async run(tenant: string): Promise<string> {
    return this.api.call(tenant);
  }
}
defineWorkflow(PlainFlow, { name: 'RemovedLimitFlow' });

describe.each(DIALECTS)('a flow limit removed by a deploy (%s)', (dialect) => {
  let set: ExecutorSet;
  afterEach(async () => set?.dispose());

  it('a step recorded with its key while the activity had a limit still runs on workers that serve it without one', async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const limited = new LimitedPartner();
    const before = await set.executor([limited, new LimitedFlow(limited)], MANUAL_WORKER, true, clock);
    await before.dispatch(LimitedFlow, ['acme'], { executionId: 'parked' });
    // The step was recorded with the tenant's key, and is parked by the partner's answer.
    await nudgeUntil(clock, async () => limited.calls === 1 && (await before.getJournal('parked')).some((step) => step.kind === 'activity' && step.state === 'pending'), 'the parked step', 100);
    const inspector = await openInspector(set.db);
    set.onCleanup(() => inspector.close());
    const [row] = await inspector.query<{ concurrency_key: string | null }>(`SELECT concurrency_key FROM ${inspector.t.steps} WHERE execution_id = ?`, ['parked']);
    expect(row?.concurrency_key).toBe('acme');
    await before.close('5s');

    // The next deploy serves the activity without a limit: its claims of unlimited work leave keyed steps
    // to claims by key, which it no longer makes, so the step is found by its look for such strays.
    const after = await set.executor([new PlainPartner(), new PlainFlow(new PlainPartner())], MANUAL_WORKER, true, clock);
    await nudgeUntil(clock, async () => (await after.getExecution('parked')).state === 'completed', 'the parked step to run after the deploy', 1_000);
    expect(await after.waitFor('parked')).toMatchObject({ ok: true, value: 'called for acme' });
    expect(limited.calls).toBe(1);
  });
});
