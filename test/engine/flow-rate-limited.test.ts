import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, ManualClock, RateLimitedError, type StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { MANUAL_WORKER, nudgeUntil } from '../support/manual-time.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/**
 * After a window opens or a park ends, the clock moves 100 ms at a time, each step after the worker had up
 * to 300 ms of real time to act: the tests bound how late on the clock a call starts, and a loaded machine
 * must not carry the clock past that bound while the worker's claim is on its way.
 */
const STEP_MS = 100;
const SETTLE_MS = 300;


/** A partner API that answers "429, retry in 30 s" once for the tenants listed in `refuseOnce`. */
class PartnerApi {
  readonly calls: Array<{ tenant: string; index: number; at: number; ok: boolean }> = [];
  readonly refuseOnce = new Set<string>();
  constructor(private readonly clock: ManualClock) {}

  async call(tenant: string, index: number): Promise<string> {
    const refused = this.refuseOnce.delete(tenant);
    this.calls.push({ tenant, index, at: this.clock.now(), ok: !refused });
    if (refused) throw new RateLimitedError({ retryAfter: '30s' });
    return `${tenant}:${index}`;
  }
}
defineActivity(PartnerApi, { rateLimit: { limit: 100, per: '1m', key: (args) => args[0] as string }, retry: { maxAttempts: 1 } });

class CallsPartner {
  constructor(private readonly api: PartnerApi) {}
  async run(tenant: string, index: number): Promise<string> {
    return this.api.call(tenant, index);
  }
}
defineWorkflow(CallsPartner);

/** Two calls a minute, whatever the arguments. */
class MeteredApi {
  readonly calls: number[] = [];
  constructor(private readonly clock: ManualClock) {}
  async call(index: number): Promise<number> {
    this.calls.push(this.clock.now());
    return index;
  }
}
defineActivity(MeteredApi, { rateLimit: { limit: 2, per: '1m' } });

class CallsMetered {
  constructor(private readonly api: MeteredApi) {}
  async run(index: number): Promise<number> {
    return this.api.call(index);
  }
}
defineWorkflow(CallsMetered);

describe.each(DIALECTS)('rate limits on a manual clock (%s)', (dialect) => {
  let set: ExecutorSet;
  afterEach(async () => set?.dispose());

  async function onManualClock(instances: (clock: ManualClock) => object[]): Promise<{ clock: ManualClock; executor: StentExecutor }> {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const executor = await set.executor(instances(clock), MANUAL_WORKER, true, clock);
    return { clock, executor };
  }

  const completed = async (executor: StentExecutor, id: string) => (await executor.getExecution(id)).state === 'completed';

  it('a RateLimitedError parks the step and every step of its key for retryAfter, without using an attempt', async () => {
    let api!: PartnerApi;
    const { clock, executor } = await onManualClock((c) => {
      api = new PartnerApi(c);
      return [api, new CallsPartner(api)];
    });
    api.refuseOnce.add('acme');
    await executor.dispatch(CallsPartner, ['acme', 1], { executionId: 'first' });
    await nudgeUntil(clock, () => api.calls.length === 1, 'the refused call', 100);
    const refusedAt = api.calls[0]!.at;
    await nudgeUntil(clock, async () => (await executor.getJournal('first')).some((s) => s.kind === 'activity' && s.state === 'pending'), 'the step to be parked', 100);

    await executor.dispatch(CallsPartner, ['acme', 2], { executionId: 'second' });
    await executor.dispatch(CallsPartner, ['globex', 3], { executionId: 'other-key' });
    await nudgeUntil(clock, () => completed(executor, 'other-key'), 'the other key to run', 100);
    // Until 30 s have passed, no call of the parked key is made.
    while (clock.now() + SECOND < refusedAt + 30 * SECOND) {
      clock.advance(SECOND);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(api.calls.filter((c) => c.tenant === 'acme')).toHaveLength(1);
    expect((await executor.getExecution('second')).state).not.toBe('completed');

    await nudgeUntil(clock, () => api.calls.filter((c) => c.tenant === 'acme' && c.ok).length === 2, 'the parked key to resume', STEP_MS, 60_000, SETTLE_MS);
    await nudgeUntil(clock, async () => (await completed(executor, 'first')) && (await completed(executor, 'second')), 'the parked workflows to end', 200);
    const resumed = api.calls.filter((c) => c.tenant === 'acme' && c.ok);
    expect(resumed.map((c) => c.index).sort()).toEqual([1, 2]);
    for (const call of resumed) {
      expect(call.at).toBeGreaterThanOrEqual(refusedAt + 30 * SECOND);
      expect(call.at).toBeLessThan(refusedAt + 32 * SECOND);
    }
    // maxAttempts is 1: the parked attempt was given back, or the call would have failed for good.
    const step = (await executor.getJournal('first')).find((s) => s.kind === 'activity')!;
    expect(step.attempts).toBe(1);
    expect((await executor.getExecution('first')).result!.unwrap()).toBe('acme:1');
  });

  it('a fixed window of one minute starts at most 2 calls; the third starts when the next window opens', async () => {
    let api!: MeteredApi;
    const { clock, executor } = await onManualClock((c) => {
      api = new MeteredApi(c);
      return [api, new CallsMetered(api)];
    });
    const windowStart = clock.now();
    for (const i of [1, 2, 3]) await executor.dispatch(CallsMetered, [i], { executionId: `metered-${i}` });
    await nudgeUntil(clock, () => api.calls.length === 2, 'two calls', 100);
    while (clock.now() + 5 * SECOND < windowStart + MINUTE) {
      clock.advance(5 * SECOND);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    clock.advanceTo(windowStart + MINUTE - 100);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(api.calls).toHaveLength(2);
    await nudgeUntil(clock, () => api.calls.length === 3, 'the third call', STEP_MS, 60_000, SETTLE_MS);
    expect(api.calls[2]).toBeGreaterThanOrEqual(windowStart + MINUTE);
    expect(api.calls[2]).toBeLessThan(windowStart + MINUTE + 2 * SECOND);
    await nudgeUntil(clock, () => completed(executor, 'metered-3'), 'the third workflow to end', 200);
  });
});
