import { Module } from '@nestjs/common';
import { StentModule } from 'nestjs-stent';
import { BillingModule } from './billing/billing.module.js';

@Module({
  imports: [
    StentModule.forRoot({
      database: { type: 'better-sqlite3', database: process.env.STENT_DATABASE ?? 'batch-processing.db' },
      // Ten charges at a time; the lease decides how soon a restarted process takes over a killed one's work.
      worker: { concurrency: 10, lease: process.env.STENT_LEASE ?? '30s' },
    }),
    BillingModule,
  ],
})
export class AppModule {}
