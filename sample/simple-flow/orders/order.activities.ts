import { Activity, NonRetryableError } from 'nestjs-stent';
import { PaymentGateway } from './payment-gateway.js';

export interface Order {
  id: string;
  items: Array<{ sku: string; quantity: number; unitCents: number }>;
}

export interface ValidatedOrder {
  orderId: string;
  totalCents: number;
}

export interface Receipt {
  orderId: string;
  receiptId: string;
  cents: number;
}

@Activity({ retry: { maxAttempts: 3, initialDelay: '200ms' } })
export class OrderActivities {
  constructor(private readonly gateway: PaymentGateway) {}

  async validate(order: Order): Promise<ValidatedOrder> {
    if (order.items.length === 0) throw new NonRetryableError(`Order ${order.id} has no items`);
    const totalCents = order.items.reduce((sum, item) => sum + item.quantity * item.unitCents, 0);
    return { orderId: order.id, totalCents };
  }

  async charge(orderId: string, cents: number): Promise<Receipt> {
    const { receiptId } = await this.gateway.charge(orderId, cents);
    return { orderId, receiptId, cents };
  }
}
