import { Activity, Stent } from 'nestjs-stent';
import { narrate } from '../../shared/activity-trace.js';
import { AccountDirectory } from './account-directory.js';
import type { Account, Invoice } from './billing.js';
import { PaymentProvider } from './payment-provider.js';

@Activity({ retry: { maxAttempts: 3, initialDelay: process.env.BATCH_RETRY_DELAY ?? '200ms' } })
export class BillingActivities {
  constructor(
    private readonly directory: AccountDirectory,
    private readonly payments: PaymentProvider,
  ) {}

  loadAccounts(batchId: string, size: number): Promise<Account[]> {
    return this.directory.dueAccounts(batchId, size);
  }

  async chargeAccount(account: Account): Promise<Invoice> {
    const { attempt } = Stent.activity();
    try {
      const { invoiceId } = await this.payments.charge(account);
      // A thousand successes are not news: they go to the trace file only. Failures are printed.
      narrate(`charged ${account.id} ${account.monthlyCents} cents (attempt ${attempt})`, { print: false });
      return { accountId: account.id, invoiceId, cents: account.monthlyCents };
    } catch (error) {
      narrate(`${account.id}: ${(error as Error).message} (attempt ${attempt})`);
      throw error;
    }
  }

  async sendReceipt(invoice: Invoice): Promise<void> {
    await this.payments.sendReceipt(invoice.accountId, invoice.invoiceId);
    narrate(`receipt ${invoice.invoiceId} sent to ${invoice.accountId}`, { print: false });
  }
}
