import { Result, Stent, Workflow } from 'nestjs-stent';
import type { Line, Receipt } from './order-types.js';
import { PaymentActivities } from './payment.activities.js';
import { ShippingWorkflow } from './shipping.workflow.js';

@Workflow({ maxDuration: '7d' })
export class OrderWorkflow {
  constructor(
    private readonly payments: PaymentActivities,
    private readonly shipping: ShippingWorkflow,                 // another workflow: a child execution
  ) {}

  async run(orderId: string, lines: Line[]): Promise<Result<Receipt, string>> {
    const receipt = await this.payments.charge(orderId, 1999);   // a durable step
    await Stent.sleep('30m');                                    // a durable timer
    try {
      const approval = await Stent.waitForSignal<{ approved: boolean }>('approval', { timeout: '2d' });
      if (!approval.approved) throw new Error('rejected');
    } catch {
      await this.payments.refund(receipt.id);                    // saga compensation
      return Result.error('rejected');                           // ends 'completed' with an error Result
    }
    const charges = await Promise.all(lines.map((l) => this.payments.charge(`${orderId}/${l.id}`, l.cents))); // fan-out
    await Stent.map(this.payments.capture, charges.map((c) => [c.id])); // batched fan-out: one step per argument list
    await this.shipping.run(orderId);                            // child workflow, awaited
    Stent.setProgress({ stage: 'shipped' });                     // visible through getExecution
    return Result.ok(receipt);
  }
}
