import { Module } from '@nestjs/common';
import { stentForSample } from '../shared/stent-for-sample.js';
import { BillingModule } from './billing/billing.module.js';

@Module({
  imports: [stentForSample('batch-processing.db'), BillingModule],
})
export class AppModule {}
