import { afterEach, describe, expect, it } from 'vitest';
import { ActivityFailedError, DeadLetterNotFoundError, defineActivity, defineWorkflow, ExecutionFinishedError } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/executor-set.js';

const calls: string[] = [];
let broken = true;

class Billing {
  async reserve(orderId: string): Promise<string> {
    calls.push(`reserve:${orderId}`);
    return `R-${orderId}`;
  }
  async capture(reservation: string): Promise<string> {
    calls.push(`capture:${reservation}`);
    if (broken) throw new Error('gateway down');
    return `C-${reservation}`;
  }
}
defineActivity(Billing, { retry: { maxAttempts: 2, initialDelay: '10ms', jitter: false } });

class Bill {
  constructor(private readonly billing: Billing) {}
  async run(orderId: string): Promise<string> {
    const reservation = await this.billing.reserve(orderId);
    return this.billing.capture(reservation);
  }
}
defineWorkflow(Bill);

describe.each(DIALECTS)('dead-letter queue on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    calls.length = 0;
    broken = true;
    await harness?.dispose();
  });

  it('lists a task that failed for good with its error, attempts and arguments; replay revives the execution from that step', async () => {
    const billing = new Billing();
    harness = await createHarness(dialect, [billing, new Bill(billing)]);
    const id = await harness.executor.dispatch(Bill, ['o-7']);
    const failed = await harness.executor.waitFor(id, { timeout: '20s' });
    expect(failed.state).toBe('failed');
    expect(failed.error).toBeInstanceOf(ActivityFailedError);

    const { items, total } = await harness.executor.dlq.list();
    expect(total).toBe(1);
    expect(items[0]).toMatchObject({ executionId: id, kind: 'activity', name: 'Billing.capture', attempts: 2, args: ['R-o-7'], reason: 'attempts exhausted' });
    expect(items[0]!.error?.message).toBe('gateway down');

    broken = false;
    calls.length = 0;
    expect(await harness.executor.dlq.replay(items[0]!.id)).toEqual({ executionId: id });
    const revived = await harness.executor.waitFor(id, { timeout: '20s' });
    expect(revived.state).toBe('completed');
    expect(revived.value).toBe('C-R-o-7');
    expect(calls).toEqual(['capture:R-o-7']); // the earlier step was answered from the journal
    expect((await harness.executor.dlq.list()).total).toBe(0);
    await expect(harness.executor.dlq.replay(items[0]!.id)).rejects.toBeInstanceOf(DeadLetterNotFoundError);
  });

  it('retry() of a failed execution replays its latest dead letter; a completed one is refused', async () => {
    const billing = new Billing();
    harness = await createHarness(dialect, [billing, new Bill(billing)]);
    const id = await harness.executor.dispatch(Bill, ['o-8']);
    expect((await harness.executor.waitFor(id, { timeout: '20s' })).state).toBe('failed');
    broken = false;
    await harness.executor.retry(id);
    expect((await harness.executor.waitFor(id, { timeout: '20s' })).value).toBe('C-R-o-8');
    await expect(harness.executor.retry(id)).rejects.toBeInstanceOf(ExecutionFinishedError);
  });

  it('discard removes the record; replaying or discarding an unknown id is a clear error', async () => {
    const billing = new Billing();
    harness = await createHarness(dialect, [billing, new Bill(billing)]);
    const id = await harness.executor.dispatch(Bill, ['o-9']);
    await harness.executor.waitFor(id, { timeout: '20s' });
    const [letter] = (await harness.executor.dlq.list()).items;
    await harness.executor.dlq.discard(letter!.id);
    expect((await harness.executor.dlq.list()).total).toBe(0);
    await expect(harness.executor.dlq.discard(letter!.id)).rejects.toBeInstanceOf(DeadLetterNotFoundError);
    await expect(harness.executor.dlq.replay('not-a-dead-letter')).rejects.toBeInstanceOf(DeadLetterNotFoundError);
    expect((await harness.executor.getExecution(id)).state).toBe('failed');
  });
});
