import { Module } from '@nestjs/common';
import { AccountDirectory } from './account-directory.js';
import { BillingRunWorkflow } from './billing-run.workflow.js';
import { BillingActivities } from './billing.activities.js';
import { BillingService } from './billing.service.js';
import { PaymentProvider } from './payment-provider.js';

@Module({
  providers: [AccountDirectory, PaymentProvider, BillingActivities, BillingRunWorkflow, BillingService],
  exports: [BillingService],
})
export class BillingModule {}
