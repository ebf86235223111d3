import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { OrdersService } from './orders/orders.service.js';

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  const orders = app.get(OrdersService);
  const orderId = process.argv[2] ?? `ord-${Date.now()}`;
  const { executionId, result } = await orders.place({
    id: orderId,
    items: [
      { sku: 'book', quantity: 2, unitCents: 1250 },
      { sku: 'pen', quantity: 3, unitCents: 199 },
    ],
  });
  console.log(`execution ${executionId} finished: ${result.state}`);
  console.log(JSON.stringify({ ok: result.ok, value: result.value, error: result.error instanceof Error ? result.error.message : result.error }, null, 2));
  await app.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
