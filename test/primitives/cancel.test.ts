import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, ExecutionNotFoundError, Stent, WorkflowCancelledError } from 'nestjs-stent';
import { BACKENDS } from '../support/databases.js';
import { createHarness, FAST_WORKER, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

const events: string[] = [];
let release: (() => void) | undefined;

class Slow {
  async crunch(): Promise<string> {
    const { signal } = Stent.activity();
    events.push('started');
    signal.addEventListener('abort', () => events.push(`aborted:${(signal.reason as Error)?.name}`));
    await new Promise<void>((resolve) => (release = resolve));
    events.push('returned');
    return 'crunched';
  }
  async after(): Promise<void> {
    events.push('after ran');
  }
}
defineActivity(Slow);

class SlowFlow {
  constructor(private readonly slow: Slow) {}
  async run(): Promise<string> {
    const value = await this.slow.crunch();
    await this.slow.after();
    return value;
  }
}
defineWorkflow(SlowFlow);

class Quick {
  async run(): Promise<number> {
    return 1;
  }
}
defineWorkflow(Quick);

describe.each(BACKENDS)('cancel on %s', (backend) => {
  let harness: Harness;
  afterEach(async () => {
    release?.();
    release = undefined;
    events.length = 0;
    await harness?.dispose();
  });

  it('fires the running activity AbortSignal and stays cancelled when the activity returns afterwards', async () => {
    const slow = new Slow();
    harness = await createHarness(backend, [slow, new SlowFlow(slow), new Quick()], { ...FAST_WORKER, heartbeat: '100ms' });
    const id = await harness.executor.dispatch(SlowFlow, []);
    await waitUntil(() => events.includes('started'), 'the activity to start');
    expect(await harness.executor.cancel(id)).toEqual({ cancelled: true, state: 'cancelled' });
    await waitUntil(() => events.includes('aborted:WorkflowCancelledError'), 'the AbortSignal to fire');
    release!();
    await waitUntil(() => events.includes('returned'), 'the activity to return');
    // give the worker a chance to (wrongly) record and continue
    await waitUntil(async () => harness.executor.worker!.stats().runningActivities === 0, 'the slot to be freed');
    const execution = await harness.executor.getExecution(id);
    expect(execution.state).toBe('cancelled');
    expect(events).not.toContain('after ran');
    const result = await harness.executor.waitFor(id, { timeout: '5s' });
    expect(result.ok).toBe(false);
    expect(result.state).toBe('cancelled');
    expect(result.error).toBeInstanceOf(WorkflowCancelledError);
  });

  it('cancelling a finished execution is a no-op that says so', async () => {
    harness = await createHarness(backend, [new Quick()]);
    const id = await harness.executor.dispatch(Quick, []);
    await harness.executor.waitFor(id, { timeout: '10s' });
    expect(await harness.executor.cancel(id)).toEqual({ cancelled: false, state: 'completed' });
    expect((await harness.executor.getExecution(id)).state).toBe('completed');
  });

  it('cancels a pending execution before it starts', async () => {
    harness = await createHarness(backend, [new Quick()], false);
    const id = await harness.executor.dispatch(Quick, [], { delay: '1h' });
    expect(await harness.executor.cancel(id)).toEqual({ cancelled: true, state: 'cancelled' });
    await harness.spawn(FAST_WORKER, new Quick());
    expect((await harness.executor.waitFor(id, { timeout: '5s' })).state).toBe('cancelled');
  });

  it('an unknown id is a clear error', async () => {
    harness = await createHarness(backend, [new Quick()], false);
    await expect(harness.executor.cancel('nope')).rejects.toBeInstanceOf(ExecutionNotFoundError);
  });
});
