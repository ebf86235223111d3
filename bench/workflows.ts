import { Stent, defineActivity, defineWorkflow, type Duration } from 'nestjs-stent';

/** The one activity the benchmarks run: trivial on purpose, so the engine's own cost is what is measured. */
export class BenchActivities {
  async add(a: number, b: number): Promise<number> {
    benchProbe.activityStarted?.();
    return a + b;
  }
}

/** A hook the fan-out case sets to measure the live heap as the first activity of a fan-out starts. */
export const benchProbe: { activityStarted?: () => void } = {};
defineActivity(BenchActivities);

/** `n` activities one after another; returns n. */
export class SequentialFlow {
  constructor(private readonly acts: BenchActivities) {}

  async run(n: number): Promise<number> {
    let total = 0;
    for (let i = 0; i < n; i++) total = await this.acts.add(total, 1);
    return total;
  }
}
defineWorkflow(SequentialFlow);

/** `n` activities at once through Promise.all; returns the sum of 1..n. */
export class FanoutFlow {
  constructor(private readonly acts: BenchActivities) {}

  async run(n: number): Promise<number> {
    const results = await Promise.all(Array.from({ length: n }, (_, i) => this.acts.add(i, 1)));
    return results.reduce((sum, value) => sum + value, 0);
  }
}
defineWorkflow(FanoutFlow);

/** `n` activities at once through Stent.map; returns the sum of 1..n. */
export class FanoutMapFlow {
  constructor(private readonly acts: BenchActivities) {}

  async run(n: number): Promise<number> {
    const results = await Stent.map(this.acts.add, Array.from({ length: n }, (_, i) => [i, 1] as [number, number]));
    return results.reduce((sum, value) => sum + value, 0);
  }
}
defineWorkflow(FanoutMapFlow);

/** Three activities in a row; returns seed + 3. */
export class ThreeStepFlow {
  constructor(private readonly acts: BenchActivities) {}

  async run(seed: number): Promise<number> {
    const a = await this.acts.add(seed, 1);
    const b = await this.acts.add(a, 1);
    return this.acts.add(b, 1);
  }
}
defineWorkflow(ThreeStepFlow);

/** One activity; what the latency case measures. */
export class PingFlow {
  constructor(private readonly acts: BenchActivities) {}

  async run(seed: number): Promise<number> {
    return this.acts.add(seed, 1);
  }
}
defineWorkflow(PingFlow);

/** Sleeps for a fixed duration (the '1h' sleepers). */
export class SleepFlow {
  async run(duration: Duration): Promise<string> {
    await Stent.sleep(duration);
    return 'awake';
  }
}
defineWorkflow(SleepFlow);

/**
 * Sleeps until an absolute time, so thousands of executions dispatched over several seconds all come due
 * at once. The duration is computed from the wall clock only on the first run: a replay answers the
 * sleep from the journal, whose wake-up time is absolute, and ignores the argument.
 */
export class SleepUntilFlow {
  async run(wakeAtMs: number): Promise<string> {
    await Stent.sleep(Math.max(0, wakeAtMs - Date.now()));
    return 'awake';
  }
}
defineWorkflow(SleepUntilFlow);

/**
 * Waits for a 'next' signal `waits` times, running one activity after each (the workflow suspends while it
 * waits), then continues as new with the sum so far; the continuation waits for a 'stop' signal and returns
 * the sum of the signals' payloads.
 */
export class LongHistoryFlow {
  constructor(private readonly acts: BenchActivities) {}

  async run(waits: number, continued = false, carried = 0): Promise<number> {
    if (continued) {
      await Stent.waitForSignal('stop');
      return carried;
    }
    let total = 0;
    for (let i = 0; i < waits; i++) total = await this.acts.add(total, await Stent.waitForSignal<number>('next'));
    return Stent.continueAsNew(waits, true, total);
  }
}
defineWorkflow(LongHistoryFlow);

/** The benchmark activity with a tenant argument and no limit: the flow_limits case's baseline. */
export class TenantActivities {
  async add(tenant: string, a: number, b: number): Promise<number> {
    void tenant;
    return a + b;
  }
}
defineActivity(TenantActivities);

/** Attempts of KeyedTenantActivities one tenant may run at once, across all workers. */
export const KEYED_LIMIT = 2;

/** The same activity, at most KEYED_LIMIT attempts per tenant at once across all workers. */
export class KeyedTenantActivities {
  async add(tenant: string, a: number, b: number): Promise<number> {
    void tenant;
    return a + b;
  }
}
defineActivity(KeyedTenantActivities, { concurrency: { key: (args) => args[0] as string, limit: KEYED_LIMIT } });

/** Three tenant activities in a row, unlimited; returns seed + 3. */
export class TenantThreeStepFlow {
  constructor(private readonly acts: TenantActivities) {}

  async run(tenant: string, seed: number): Promise<number> {
    const a = await this.acts.add(tenant, seed, 1);
    const b = await this.acts.add(tenant, a, 1);
    return this.acts.add(tenant, b, 1);
  }
}
defineWorkflow(TenantThreeStepFlow);

/** Three tenant activities in a row, limited per tenant; returns seed + 3. */
export class KeyedThreeStepFlow {
  constructor(private readonly acts: KeyedTenantActivities) {}

  async run(tenant: string, seed: number): Promise<number> {
    const a = await this.acts.add(tenant, seed, 1);
    const b = await this.acts.add(tenant, a, 1);
    return this.acts.add(tenant, b, 1);
  }
}
defineWorkflow(KeyedThreeStepFlow);

/** Fresh instances of every benchmark workflow and activity class, ready for executor.register(). */
export function benchInstances(): object[] {
  const acts = new BenchActivities();
  const tenants = new TenantActivities();
  const keyed = new KeyedTenantActivities();
  return [
    acts,
    new SequentialFlow(acts),
    new FanoutFlow(acts),
    new FanoutMapFlow(acts),
    new ThreeStepFlow(acts),
    new PingFlow(acts),
    new SleepFlow(),
    new SleepUntilFlow(),
    new LongHistoryFlow(acts),
    tenants,
    keyed,
    new TenantThreeStepFlow(tenants),
    new KeyedThreeStepFlow(keyed),
  ];
}
