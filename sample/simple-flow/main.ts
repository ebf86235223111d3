import { printOutcome } from '../shared/print-outcome.js';
import { runSample } from '../shared/run-sample.js';
import { AppModule } from './app.module.js';
import { OrdersService } from './orders/orders.service.js';

// Usage: node dist/sample/simple-flow/main.js [orderId]
runSample(AppModule, async (app) => {
  const orders = app.get(OrdersService);
  const orderId = process.argv[2] ?? `ord-${Date.now()}`;
  const { executionId, result } = await orders.place({
    id: orderId,
    items: [
      { sku: 'book', quantity: 2, unitCents: 1250 },
      { sku: 'pen', quantity: 3, unitCents: 199 },
    ],
  });
  printOutcome(executionId, result);
});
