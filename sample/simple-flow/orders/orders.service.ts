import { Injectable } from '@nestjs/common';
import { StentExecutor } from 'nestjs-stent';
import { OrderWorkflow } from './order.workflow.js';
import type { Order } from './order.activities.js';

@Injectable()
export class OrdersService {
  constructor(private readonly stent: StentExecutor) {}

  async place(order: Order) {
    const executionId = await this.stent.dispatch(OrderWorkflow, [order], { idempotencyKey: `order:${order.id}` });
    const result = await this.stent.waitFor<Awaited<ReturnType<OrderWorkflow['run']>>>(executionId, { timeout: '30s' });
    return { executionId, result };
  }
}
