import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

/** Stands in for an external payment provider (the only mocked part of the sample). */
@Injectable()
export class PaymentGateway {
  async charge(orderId: string, cents: number): Promise<{ receiptId: string; cents: number }> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { receiptId: `rcpt_${orderId}_${randomUUID().slice(0, 8)}`, cents };
  }
}
