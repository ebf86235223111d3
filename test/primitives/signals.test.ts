import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow, ExecutionFinishedError, ExecutionNotFoundError, SignalTimeoutError, Stent } from 'nestjs-stent';
import { BACKENDS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

class TwoApprovals {
  async run(): Promise<unknown[]> {
    const first = await Stent.waitForSignal('approval');
    const second = await Stent.waitForSignal('approval');
    return [first, second];
  }
}
defineWorkflow(TwoApprovals);

class ApprovalWithTimeout {
  async run(timeout: string): Promise<string> {
    try {
      const payload = await Stent.waitForSignal<{ by: string }>('approval', { timeout });
      return `approved by ${payload.by}`;
    } catch (error) {
      if (error instanceof SignalTimeoutError) return `timed out: ${error.message}`;
      throw error;
    }
  }
}
defineWorkflow(ApprovalWithTimeout);

class CountSignals {
  async run(n: number): Promise<number[]> {
    const seen: number[] = [];
    for (let i = 0; i < n; i++) seen.push(await Stent.waitForSignal<number>('tick'));
    return seen;
  }
}
defineWorkflow(CountSignals);

describe.each(BACKENDS)('signals on %s', (backend) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  it('keeps signals sent before the workflow waits and delivers two of one name in order', async () => {
    harness = await createHarness(backend, [new TwoApprovals()], false);
    const id = await harness.executor.dispatch(TwoApprovals, []);
    await harness.executor.sendSignal(id, 'approval', { n: 1 });
    await harness.executor.sendSignal(id, 'approval', { n: 2 });
    await harness.spawn(undefined, new TwoApprovals());
    const result = await harness.executor.waitFor(id, { timeout: '20s' });
    expect(result.ok).toBe(true);
    expect(result.value).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('delivers a signal sent while the workflow is waiting, also after it was suspended', async () => {
    harness = await createHarness(backend, [new TwoApprovals()]);
    const id = await harness.executor.dispatch(TwoApprovals, []);
    await waitUntil(async () => (await harness.executor.getJournal(id)).length === 1, 'the first wait to be journaled');
    await harness.executor.sendSignal(id, 'approval', 'a');
    await waitUntil(async () => (await harness.executor.getJournal(id)).length === 2, 'the second wait to be journaled');
    // suspendAfter is 300ms in the harness: wait until nobody holds it any more
    await waitUntil(async () => (await harness.executor.getExecution(id)).leaseOwner === null, 'the execution to be suspended');
    await harness.executor.sendSignal(id, 'approval', 'b');
    const result = await harness.executor.waitFor(id, { timeout: '20s' });
    expect(result.value).toEqual(['a', 'b']);
  });

  it('throws SignalTimeoutError into the workflow when the timeout elapses', async () => {
    harness = await createHarness(backend, [new ApprovalWithTimeout()]);
    const id = await harness.executor.dispatch(ApprovalWithTimeout, ['200ms']);
    const result = await harness.executor.waitFor(id, { timeout: '20s' });
    expect(result.ok).toBe(true);
    expect(result.value).toMatch(/^timed out: No signal 'approval' arrived within 200 ms/);
    const journal = await harness.executor.getJournal(id);
    expect(journal[0]).toMatchObject({ kind: 'signal', name: 'approval', state: 'failed' });
  });

  it('times out a suspended wait by replay (timeout longer than the suspension threshold)', async () => {
    harness = await createHarness(backend, [new ApprovalWithTimeout()]);
    const id = await harness.executor.dispatch(ApprovalWithTimeout, ['1500ms']);
    await waitUntil(async () => (await harness.executor.getExecution(id)).leaseOwner === null && (await harness.executor.getJournal(id)).length === 1, 'suspension');
    const result = await harness.executor.waitFor(id, { timeout: '20s' });
    expect(result.value).toMatch(/^timed out/);
  });

  it('never loses a signal that races the wait (200 iterations)', async () => {
    harness = await createHarness(backend, [new CountSignals()]);
    const id = await harness.executor.dispatch(CountSignals, [200]);
    for (let i = 0; i < 200; i++) {
      await harness.executor.sendSignal(id, 'tick', i);
      if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const result = await harness.executor.waitFor(id, { timeout: '60s' });
    expect(result.value).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('refuses a signal to an unknown or finished execution with a clear error', async () => {
    harness = await createHarness(backend, [new ApprovalWithTimeout()]);
    await expect(harness.executor.sendSignal('no-such-execution', 'approval', {})).rejects.toBeInstanceOf(ExecutionNotFoundError);
    const id = await harness.executor.dispatch(ApprovalWithTimeout, ['10ms']);
    await harness.executor.waitFor(id, { timeout: '20s' });
    await expect(harness.executor.sendSignal(id, 'approval', {})).rejects.toBeInstanceOf(ExecutionFinishedError);
  });
});
