import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { NonRetryableError } from 'nestjs-stent';
import type { Account } from './billing.js';

/** A declined card: charging it again cannot help, so the activity stops retrying at once. */
export class CardDeclinedError extends NonRetryableError {}

/**
 * Stands in for the card processor (the only simulated part of the sample). Every 15th account
 * (the 7th, 22nd, ...) has an expired card and is declined for good; for every 10th (the 3rd, 13th,
 * ...) the first request of this process times out, as gateways sometimes do, and a retry goes
 * through. BATCH_ITEM_LATENCY_MS is how long a charge takes (default 20).
 */
@Injectable()
export class PaymentProvider {
  private readonly latencyMs = Number(process.env.BATCH_ITEM_LATENCY_MS ?? 20);
  private readonly timedOut = new Set<string>();

  async charge(account: Account): Promise<{ invoiceId: string }> {
    await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const number = Number(account.id.slice(-4));
    if (number % 15 === 7) throw new CardDeclinedError('card declined: expired');
    if (number % 10 === 3 && !this.timedOut.has(account.id)) {
      this.timedOut.add(account.id);
      throw new Error('gateway timeout');
    }
    return { invoiceId: `inv_${randomUUID().slice(0, 8)}` };
  }

  async sendReceipt(accountId: string, invoiceId: string): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.latencyMs / 4));
  }
}
