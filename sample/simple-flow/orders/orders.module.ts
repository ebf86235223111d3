import { Module } from '@nestjs/common';
import { OrderActivities } from './order.activities.js';
import { OrderWorkflow } from './order.workflow.js';
import { OrdersService } from './orders.service.js';
import { PaymentGateway } from './payment-gateway.js';

@Module({
  providers: [PaymentGateway, OrderActivities, OrderWorkflow, OrdersService],
  exports: [OrdersService],
})
export class OrdersModule {}
