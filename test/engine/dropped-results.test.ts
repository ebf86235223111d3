import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, type WorkerOptions } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, Gate } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';
import { openInspector, type Inspector } from '../support/inspector.js';

class GatedPayment {
  readonly gate = new Gate();
  async charge(): Promise<string> {
    await this.gate.wait();
    return 'charged';
  }
  async receipt(): Promise<string> {
    return 'receipt';
  }
}
defineActivity(GatedPayment, { name: 'DroppedResultsPayment' });

/** The charge's result is used by the workflow at once (it runs here) and recorded with the next step. */
class ChargeThenReceipt {
  constructor(private readonly payment: GatedPayment) {}
  async run(): Promise<string[]> {
    const charged = await this.payment.charge();
    return [charged, await this.payment.receipt()];
  }
}
defineWorkflow(ChargeThenReceipt, { name: 'DroppedResultsFlow' });

// A long heartbeat: the worker must find out it lost the execution from the write that carries the result.
const WORKER: WorkerOptions = { concurrency: 2, lease: '30s', heartbeat: '20s', pollInterval: '20ms', maxPollInterval: '200ms' };

describe.each(DIALECTS)('a late result that is dropped is logged (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  let inspector: Inspector | undefined;

  afterEach(async () => {
    await inspector?.close();
    await set?.dispose();
    set = inspector = undefined;
  });

  it('the result of an activity taken over meanwhile, which its workflow already used, is dropped with a log line naming the step', async () => {
    set = await ExecutorSet.create(dialect);
    const payment = new GatedPayment();
    const executor = await set.executor([payment, new ChargeThenReceipt(payment)], WORKER);
    inspector = await openInspector(set.db);
    const id = await executor.dispatch(ChargeThenReceipt, []);
    await waitUntil(() => payment.gate.entered === 1, 'the charge to start');
    const { t } = inspector;
    const [step] = await inspector.query<{ id: string }>(`SELECT id FROM ${t.steps} WHERE execution_id = ? AND position = 0`, [id]);
    // Another worker takes the execution and the charge over while the charge runs here (this worker was stalled).
    await inspector.query(`UPDATE ${t.steps} SET lease_owner = 'another-worker', lease_epoch = lease_epoch + 1 WHERE id = ?`, [step!.id]);
    await inspector.query(`UPDATE ${t.executions} SET lease_owner = 'another-worker', lease_epoch = lease_epoch + 1 WHERE id = ?`, [id]);
    payment.gate.open();

    const line = await waitUntil(
      () => set!.logger.lines.find((l) => l.level === 'warn' && l.message.includes(step!.id) && l.message.includes('dropped')),
      'a log line about the dropped result',
      10_000,
    );
    expect(line.message).toContain(id);
    // It really was dropped: the step is not recorded, the new owner's lease stands.
    const [row] = await inspector.query<{ state: string; lease_owner: string }>(`SELECT state, lease_owner FROM ${t.steps} WHERE id = ?`, [step!.id]);
    expect(row).toMatchObject({ state: 'running', lease_owner: 'another-worker' });
    const [execution] = await inspector.query<{ lease_owner: string }>(`SELECT lease_owner FROM ${t.executions} WHERE id = ?`, [id]);
    expect(execution!.lease_owner).toBe('another-worker');
  });
});
