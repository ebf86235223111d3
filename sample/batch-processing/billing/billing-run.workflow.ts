import { Result, Stent, Workflow } from 'nestjs-stent';
import { failureReason } from '../../shared/failure-reason.js';
import { BillingActivities } from './billing.activities.js';
import type { BillingBatch, BillingProgress, BillingSummary, FailedAccount, Invoice } from './billing.js';

type ChargeOutcome = { invoice: Invoice } | { failure: FailedAccount };

/**
 * Fan-out / fan-in over a batch: charge every account due (one durable step each, all in flight at
 * once; the worker runs `concurrency` of them at a time), report progress as charges settle, and sum
 * up. An account that cannot be charged is listed in the summary; it does not fail the run. Receipts
 * for the accounts billed go out through Stent.map, which records all of their steps in one write.
 */
@Workflow({ maxDuration: '1h' })
export class BillingRunWorkflow {
  constructor(private readonly billing: BillingActivities) {}

  async run(batch: BillingBatch): Promise<Result<BillingSummary, string>> {
    const accounts = await this.billing.loadAccounts(batch.id, batch.size);
    if (accounts.length === 0) return Result.error(`batch ${batch.id} has no accounts due`);
    const total = accounts.length;
    let done = 0;
    const progress = (stage: BillingProgress['stage']): void => Stent.setProgress({ stage, done, total } satisfies BillingProgress);
    progress('charging');

    const outcomes = await Promise.all(
      accounts.map((account) =>
        this.billing.chargeAccount(account).then(
          (invoice): ChargeOutcome => {
            Stent.incrementCounter('billed');
            return { invoice };
          },
          (error: unknown): ChargeOutcome => {
            Stent.incrementCounter('failed');
            return { failure: { accountId: account.id, reason: failureReason(error) } };
          },
        ).finally(() => {
          done++;
          progress('charging');
        }),
      ),
    );

    const invoices = outcomes.flatMap((outcome) => ('invoice' in outcome ? [outcome.invoice] : []));
    const failed = outcomes.flatMap((outcome) => ('failure' in outcome ? [outcome.failure] : []));
    progress('sending receipts');
    await Stent.map(this.billing.sendReceipt, invoices);
    progress('done');
    return Result.ok({
      batchId: batch.id,
      accounts: total,
      billed: invoices.length,
      billedCents: invoices.reduce((sum, invoice) => sum + invoice.cents, 0),
      receiptsSent: invoices.length,
      failed,
    });
  }
}
