import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/executor-set.js';

/**
 * One step whose every attempt times out (100 ms) while its body ignores the AbortSignal and runs on for
 * 1.5 s. Each retry of the SAME step starts another body while the earlier ones linger: every lingering
 * body must keep its slot, not just one per step.
 */
let running = 0;
let maxRunning = 0;
let capRunning = 0;
let capMax = 0;
const bodies: Array<Promise<void>> = [];

function linger(): Promise<void> {
  const done = new Promise<void>((resolve) => setTimeout(resolve, 1500));
  bodies.push(done);
  return done;
}

class Stuck {
  async slow(): Promise<string> {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await linger();
    running--;
    return 'late';
  }
}
defineActivity(Stuck, { name: 'Stuck', timeout: '100ms', retry: { maxAttempts: 4, initialDelay: '10ms', jitter: false } });

class StuckCapped {
  async slow(): Promise<string> {
    capRunning++;
    capMax = Math.max(capMax, capRunning);
    await linger();
    capRunning--;
    return 'late';
  }
}
defineActivity(StuckCapped, { name: 'StuckCapped', maxConcurrent: 2, timeout: '100ms', retry: { maxAttempts: 4, initialDelay: '10ms', jitter: false } });

class OneStuck {
  constructor(private readonly acts: Stuck) {}
  async run(): Promise<string> {
    try {
      return await this.acts.slow();
    } catch (error) {
      return `failed: ${(error as Error).name}`;
    }
  }
}
defineWorkflow(OneStuck, { name: 'OneStuck' });

class OneStuckCapped {
  constructor(private readonly acts: StuckCapped) {}
  async run(): Promise<string> {
    try {
      return await this.acts.slow();
    } catch (error) {
      return `failed: ${(error as Error).name}`;
    }
  }
}
defineWorkflow(OneStuckCapped, { name: 'OneStuckCapped' });

describe.each(DIALECTS)('lingering bodies of retries of one step on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    await Promise.all(bodies.splice(0));
    running = maxRunning = capRunning = capMax = 0;
    await harness?.dispose();
  });

  it('worker concurrency 2 is not exceeded by lingering bodies of successive attempts of one step', async () => {
    const acts = new Stuck();
    harness = await createHarness(dialect, [acts, new OneStuck(acts)], { concurrency: 2, pollInterval: '20ms', maxPollInterval: '100ms', lease: '5s' });
    const id = await harness.executor.dispatch(OneStuck, []);
    const result = await harness.executor.waitFor<string>(id, { timeout: '20s' });
    expect(result.value).toBe('failed: ActivityFailedError');
    expect(maxRunning).toBeLessThanOrEqual(2);
  });

  it('maxConcurrent 2 is not exceeded in one process by lingering bodies of successive attempts of one step', async () => {
    const acts = new StuckCapped();
    harness = await createHarness(dialect, [acts, new OneStuckCapped(acts)], { concurrency: 8, pollInterval: '20ms', maxPollInterval: '100ms', lease: '5s' });
    const id = await harness.executor.dispatch(OneStuckCapped, []);
    const result = await harness.executor.waitFor<string>(id, { timeout: '20s' });
    expect(result.value).toBe('failed: ActivityFailedError');
    expect(capMax).toBeLessThanOrEqual(2);
  });
});

// ---- a recovered ("suspect") step claimed while a timed-out body still lingers ----------------------

let singleSlotRunning = 0;
let singleSlotMax = 0;
const singleSlotBodies: Array<Promise<void>> = [];

/** Registered under the same name in two executors; `inSingleSlotWorker` marks the instance of the executor under test. */
class RecoveredStepActs {
  constructor(private readonly inSingleSlotWorker: boolean) {}
  async recovered(): Promise<string> {
    if (this.inSingleSlotWorker) singleSlotMax = Math.max(singleSlotMax, ++singleSlotRunning);
    const done = new Promise<void>((resolve) => setTimeout(resolve, this.inSingleSlotWorker ? 300 : 2500));
    if (this.inSingleSlotWorker) singleSlotBodies.push(done);
    await done;
    if (this.inSingleSlotWorker) singleSlotRunning--;
    return 'recovered';
  }
}
defineActivity(RecoveredStepActs, { name: 'RecoveredStepActs', retry: { maxAttempts: 3 } });

class RecoveredStepFlow {
  constructor(private readonly acts: RecoveredStepActs) {}
  async run(): Promise<string> {
    return this.acts.recovered();
  }
}
defineWorkflow(RecoveredStepFlow, { name: 'RecoveredStepFlow' });

class TimesOutAndLingers {
  async slow(): Promise<string> {
    singleSlotMax = Math.max(singleSlotMax, ++singleSlotRunning);
    const done = new Promise<void>((resolve) => setTimeout(resolve, 3000));
    singleSlotBodies.push(done);
    await done;
    singleSlotRunning--;
    return 'late';
  }
}
defineActivity(TimesOutAndLingers, { name: 'TimesOutAndLingers', timeout: '100ms', retry: { maxAttempts: 1 } });

class LingeringStepFlow {
  constructor(private readonly acts: TimesOutAndLingers) {}
  async run(): Promise<string> {
    return this.acts.slow().catch((error: Error) => error.name);
  }
}
defineWorkflow(LingeringStepFlow, { name: 'LingeringStepFlow' });

describe.each(DIALECTS)('lingering body and a recovered step on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    await Promise.all(singleSlotBodies.splice(0));
    singleSlotRunning = singleSlotMax = 0;
    await harness?.dispose();
  });

  it('worker concurrency 1 is not exceeded when a recovered step is claimed while a timed-out body lingers', async () => {
    // The first worker runs RecoveredStepFlow's step but never renews its lease (heartbeat 10 s > lease 600 ms): the step is reclaimed.
    const lapsing = new RecoveredStepActs(false);
    harness = await createHarness(dialect, [lapsing, new RecoveredStepFlow(lapsing)], { concurrency: 4, lease: '600ms', heartbeat: '10s', pollInterval: '20ms', maxPollInterval: '100ms' });
    const underTest = new RecoveredStepActs(true);
    const stuck = new TimesOutAndLingers();
    const singleSlot = await harness.spawn({ concurrency: 1, lease: '1s', pollInterval: '20ms', maxPollInterval: '100ms' }, underTest, stuck, new LingeringStepFlow(stuck));
    const stuckId = await singleSlot.dispatch(LingeringStepFlow, []);
    expect((await singleSlot.waitFor(stuckId, { timeout: '10s' })).value).toBe('ActivityFailedError'); // timed out; its body lingers 3 s
    const id = await harness.executor.dispatch(RecoveredStepFlow, []);
    expect((await harness.executor.waitFor(id, { timeout: '20s' })).value).toBe('recovered');
    expect(singleSlotMax).toBeLessThanOrEqual(1);
  });
});

describe.each(DIALECTS)('closing a worker while a timed-out body lingers on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    await Promise.all(bodies.splice(0));
    running = maxRunning = 0;
    await harness?.dispose();
  });

  it('close() returns promptly and another worker finishes the retries', async () => {
    const acts = new Stuck();
    harness = await createHarness(dialect, [acts, new OneStuck(acts)], { concurrency: 2, pollInterval: '20ms', maxPollInterval: '100ms', lease: '5s' });
    const id = await harness.executor.dispatch(OneStuck, []);
    const { waitUntil } = await import('../support/wait.js');
    await waitUntil(async () => (await harness.executor.getJournal(id))[0]?.attempts === 2, 'the second attempt', 10_000);
    const started = Date.now();
    await harness.executor.close('3s');
    expect(Date.now() - started).toBeLessThan(3500);
    const other = await harness.spawn({ concurrency: 2, pollInterval: '20ms', maxPollInterval: '100ms', lease: '5s' });
    const result = await other.waitFor<string>(id, { timeout: '20s' });
    expect(result.value).toBe('failed: ActivityFailedError');
    expect((await other.getJournal(id))[0]?.attempts).toBeLessThanOrEqual(4);
  });
});
