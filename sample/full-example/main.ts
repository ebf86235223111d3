import { StentExecutor } from 'nestjs-stent';
import { runSample } from '../shared/run-sample.js';
import { AppModule } from './app.module.js';
import { OrdersService } from './orders/orders.service.js';

/**
 * The README's full example, run as an application: it places an order and stops once the order has
 * been charged and waits in its durable 30-minute timer (kept in stent.db; the next start of the app
 * goes on from there). The rest of its life (the approval signal, the fan-out, the child workflow) is
 * driven on a manual clock by test/samples/full-example.test.ts.
 *
 * Usage: node dist/sample/full-example/main.js [orderId]
 */
runSample(AppModule, async (app) => {
  const orders = app.get(OrdersService);
  const stent = app.get(StentExecutor);
  const orderId = process.argv[2] ?? `ord-${Date.now()}`;
  const id = await orders.place(orderId, [
    { id: 'book', cents: 2500 },
    { id: 'pen', cents: 597 },
  ]);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const timer = (await stent.getJournal(id)).find((step) => step.kind === 'sleep');
    if (timer?.fireAt) {
      const execution = await stent.getExecution(id);
      console.log(`execution ${id} (order ${orderId}): ${execution.state}, charged, in a durable timer until ${timer.fireAt.toISOString()}`);
      break;
    }
    if (Date.now() > deadline) throw new Error(`execution ${id} did not reach its timer within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
