import { Injectable } from '@nestjs/common';
import { StentExecutor } from 'nestjs-stent';
import { BillingRunWorkflow } from './billing-run.workflow.js';
import type { BillingBatch } from './billing.js';

@Injectable()
export class BillingService {
  constructor(private readonly stent: StentExecutor) {}

  /** Starts a billing run; starting the same batch again returns the run already under way (or done). */
  start(batch: BillingBatch): Promise<string> {
    return this.stent.dispatch(BillingRunWorkflow, [batch], { idempotencyKey: `billing:${batch.id}` });
  }

  outcome(executionId: string) {
    return this.stent.waitFor<Awaited<ReturnType<BillingRunWorkflow['run']>>>(executionId, { timeout: '5m' });
  }
}
