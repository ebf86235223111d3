import { Activity, Stent } from 'nestjs-stent';
import type { Receipt } from './order-types.js';
import { PaymentGateway } from './payment-gateway.js';

@Activity({ retry: { maxAttempts: 5, initialDelay: '1s' } })
export class PaymentActivities {
  constructor(private readonly gateway: PaymentGateway) {}      // normal DI

  async charge(orderId: string, cents: number): Promise<Receipt> {
    const { signal, attempt } = Stent.activity();               // AbortSignal, attempt number
    return this.gateway.charge(orderId, cents, { signal, attempt });
  }

  async capture(receiptId: string): Promise<void> {
    await this.gateway.capture(receiptId);
  }

  @Activity({ maxConcurrent: 2, queue: 'slow', timeout: '30s' }) // method-level options
  async refund(receiptId: string): Promise<void> {
    await this.gateway.refund(receiptId);
  }
}
