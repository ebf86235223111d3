import { Injectable } from '@nestjs/common';
import type { Receipt } from './order-types.js';

/**
 * The payment provider the activities call: a stand-in that keeps its ledger in memory and prints each
 * call, so a run shows which calls the workflow made (and that a replay makes none again).
 */
@Injectable()
export class PaymentGateway {
  readonly ledger: Array<{ call: 'charge' | 'capture' | 'refund'; id: string; cents?: number }> = [];

  async charge(orderId: string, cents: number, options: { signal: AbortSignal; attempt: number }): Promise<Receipt> {
    options.signal.throwIfAborted();
    const receipt = { id: `rcpt_${orderId}`, orderId, cents };
    this.record({ call: 'charge', id: receipt.id, cents }, `charged ${cents} cents for ${orderId} (attempt ${options.attempt})`);
    return receipt;
  }

  async capture(receiptId: string): Promise<void> {
    this.record({ call: 'capture', id: receiptId }, `captured ${receiptId}`);
  }

  async refund(receiptId: string): Promise<void> {
    this.record({ call: 'refund', id: receiptId }, `refunded ${receiptId}`);
  }

  private record(entry: PaymentGateway['ledger'][number], line: string): void {
    this.ledger.push(entry);
    console.log(`gateway: ${line}`);
  }
}
