import { Injectable } from '@nestjs/common';
import { StentExecutor } from 'nestjs-stent';
import type { Line } from './order-types.js';
import { OrderWorkflow } from './order.workflow.js';

@Injectable()
export class OrdersService {
  constructor(private readonly stent: StentExecutor) {}

  async place(orderId: string, lines: Line[]) {
    const id = await this.stent.dispatch(OrderWorkflow, [orderId, lines], { idempotencyKey: orderId });
    return id;
  }

  approve(id: string) {
    return this.stent.sendSignal(id, 'approval', { approved: true });
  }

  async outcome(id: string) {
    const result = await this.stent.waitFor(id, { timeout: '10s' });   // Result: ok, value, error, state
    return result.ok ? result.value : result.error;
  }
}
