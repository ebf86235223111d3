import { Workflow } from 'nestjs-stent';
import { CourierActivities } from './courier.activities.js';

/** Ships an order: run by OrderWorkflow as a child execution. */
@Workflow()
export class ShippingWorkflow {
  constructor(private readonly couriers: CourierActivities) {}

  async run(orderId: string): Promise<string> {
    return this.couriers.book(orderId);
  }
}
