// Fixture for the README's "Evolving workflows" patch example: the activities its OrderWorkflow imports.
import { Activity } from 'nestjs-stent';

export interface Order {
  id: string;
}

/** Records each call, so a test sees which path an execution took. */
export const orderCalls: string[] = [];

@Activity()
export class OrderActivities {
  async reserve(order: Order): Promise<void> {
    orderCalls.push(`reserve ${order.id}`);
  }
  async checkFraud(order: Order): Promise<void> {
    orderCalls.push(`checkFraud ${order.id}`);
  }
  async ship(order: Order): Promise<string> {
    orderCalls.push(`ship ${order.id}`);
    return `shipped ${order.id}`;
  }
}
