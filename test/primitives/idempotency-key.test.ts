import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow, IdempotencyConflictError } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness, rejectionOf } from '../support/executor-set.js';

class ShipOrder {
  async run(order: { id: string; lines: number }, at?: Date): Promise<string> {
    return `shipped ${order.id} (${order.lines} lines)${at ? ` at ${at.toISOString()}` : ''}`;
  }
}
defineWorkflow(ShipOrder, { name: 'KeyShipOrder' });

class RefundOrder {
  async run(order: { id: string; lines: number }): Promise<string> {
    return `refunded ${order.id}`;
  }
}
defineWorkflow(RefundOrder, { name: 'KeyRefundOrder' });

describe.each(DIALECTS)('idempotency keys on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  it('the same key with another workflow is a conflict, and the first execution is untouched', async () => {
    harness = await createHarness(dialect, [new ShipOrder(), new RefundOrder()]);
    const { executor } = harness;
    const first = await executor.dispatch(ShipOrder, [{ id: 'o-1', lines: 2 }], { idempotencyKey: 'order-1' });
    const error = await rejectionOf(executor.dispatch(RefundOrder, [{ id: 'o-1', lines: 2 }], { idempotencyKey: 'order-1' }));
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect(error).toMatchObject({
      code: 'STENT_IDEMPOTENCY_CONFLICT',
      category: 'conflict',
      idempotencyKey: 'order-1',
      executionId: first,
      existingWorkflow: 'KeyShipOrder',
      requestedWorkflow: 'KeyRefundOrder',
    });
    expect((await executor.waitFor(first, { timeout: '20s' })).value).toBe('shipped o-1 (2 lines)');
    expect((await executor.listExecutions({ workflowName: 'KeyRefundOrder' })).total).toBe(0);
  });

  it('with the same workflow the key returns the first execution, whatever the arguments (the first dispatch wins)', async () => {
    harness = await createHarness(dialect, [new ShipOrder(), new RefundOrder()]);
    const { executor } = harness;
    const at = new Date('2030-01-02T03:04:05.000Z');
    const first = await executor.dispatch(ShipOrder, [{ id: 'o-2', lines: 3 }, at], { idempotencyKey: 'order-2' });
    expect(await executor.dispatch(ShipOrder, [{ id: 'o-2', lines: 4 }, new Date()], { idempotencyKey: 'order-2' })).toBe(first);
    expect((await executor.waitFor(first, { timeout: '20s' })).value).toBe(`shipped o-2 (3 lines) at ${at.toISOString()}`);
    // Still the same answer once it has finished, and still a conflict for another workflow.
    expect(await executor.dispatch(ShipOrder, [{ id: 'o-2', lines: 3 }, at], { idempotencyKey: 'order-2' })).toBe(first);
    await expect(executor.dispatch(RefundOrder, [{ id: 'o-2', lines: 3 }], { idempotencyKey: 'order-2' })).rejects.toMatchObject({ code: 'STENT_IDEMPOTENCY_CONFLICT', executionId: first });
    expect((await executor.listExecutions()).total).toBe(1);
  });

  it('racing dispatches of two workflows with one key: one execution, the other workflow gets a conflict', async () => {
    harness = await createHarness(dialect, [new ShipOrder(), new RefundOrder()], false);
    const { executor } = harness;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        i % 2 === 0
          ? executor.dispatch(ShipOrder, [{ id: 'o-3', lines: i }], { idempotencyKey: 'order-3' })
          : executor.dispatch(RefundOrder, [{ id: 'o-3', lines: i }], { idempotencyKey: 'order-3' }),
      ),
    );
    const ids = new Set(outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : [])));
    expect(ids.size).toBe(1);
    const [winner] = (await executor.listExecutions()).items;
    expect(winner!.id).toBe([...ids][0]);
    outcomes.forEach((outcome, i) => {
      const sameWorkflow = (i % 2 === 0) === (winner!.workflowName === 'KeyShipOrder');
      if (sameWorkflow) expect(outcome).toMatchObject({ status: 'fulfilled', value: winner!.id });
      else expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'STENT_IDEMPOTENCY_CONFLICT', executionId: winner!.id } });
    });
  });
});
