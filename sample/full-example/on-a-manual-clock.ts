import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { StentExecutor, type StentModuleOptions } from 'nestjs-stent';
import { StentTestHarness, StentTestingModule } from 'nestjs-stent/testing';
import { OrdersModule } from './orders/orders.module.js';
import { OrdersService } from './orders/orders.service.js';
import { PaymentGateway } from './orders/payment-gateway.js';

/**
 * The README's full example through its whole life, on nestjs-stent/testing's manual clock: an order
 * approved (charged, 30 minutes asleep, the approval signal, a fan-out of charges and a batched one of
 * captures, a child workflow) and an order nobody approves (its 2-day wait times out and the charge is
 * refunded). Prints one JSON line with what each ended with and what the payment gateway was asked.
 *
 * Usage: node dist/sample/full-example/on-a-manual-clock.js   (STENT_DATABASE_URL: a PostgreSQL URL to
 * run on PostgreSQL instead of in-memory SQLite, in schema STENT_DATABASE_SCHEMA, default 'stent')
 */
async function main(): Promise<void> {
  const url = process.env.STENT_DATABASE_URL;
  const database: StentModuleOptions['database'] = url ? { type: 'postgres', url, schema: process.env.STENT_DATABASE_SCHEMA ?? 'stent' } : undefined;
  const moduleRef = await Test.createTestingModule({
    imports: [StentTestingModule.forRoot({ database, worker: { queues: ['default', 'slow'] } }), OrdersModule],
  }).compile();
  await moduleRef.init();
  try {
    const stent = moduleRef.get(StentTestHarness);
    const executor = moduleRef.get(StentExecutor);
    const orders = moduleRef.get(OrdersService);
    const gateway = moduleRef.get(PaymentGateway);
    const lines = [
      { id: 'book', cents: 2500 },
      { id: 'pen', cents: 597 },
    ];

    const approved = await orders.place('ord-approved', lines);
    await stent.advance('30m');                   // charged, then the durable timer ends
    await orders.approve(approved);
    await stent.runToCompletion(approved);
    const approvedEnd = { value: await orders.outcome(approved), progress: (await executor.getExecution(approved)).progress, steps: await stent.steps(approved) };

    const rejected = await orders.place('ord-unanswered', lines);
    await stent.runToCompletion(rejected);      // 30 minutes, then 2 days without an approval
    const rejectedEnd = { value: await orders.outcome(rejected), steps: await stent.steps(rejected) };

    console.log(JSON.stringify({ approved: approvedEnd, rejected: rejectedEnd, ledger: gateway.ledger }));
  } finally {
    await moduleRef.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
