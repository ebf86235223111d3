import { Result, Workflow } from 'nestjs-stent';
import { OrderActivities, type Order, type Receipt } from './order.activities.js';

@Workflow({ maxDuration: '1h' })
export class OrderWorkflow {
  constructor(private readonly activities: OrderActivities) {}

  async run(order: Order): Promise<Result<Receipt, string>> {
    const validated = await this.activities.validate(order);
    if (validated.totalCents <= 0) return Result.error('nothing to charge');
    const receipt = await this.activities.charge(validated.orderId, validated.totalCents);
    return Result.ok(receipt);
  }
}
