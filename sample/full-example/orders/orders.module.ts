import { Module } from '@nestjs/common';
import { CourierActivities } from './courier.activities.js';
import { OrderWorkflow } from './order.workflow.js';
import { OrdersService } from './orders.service.js';
import { PaymentActivities } from './payment.activities.js';
import { PaymentGateway } from './payment-gateway.js';
import { ShippingWorkflow } from './shipping.workflow.js';

@Module({
  providers: [PaymentGateway, PaymentActivities, CourierActivities, ShippingWorkflow, OrderWorkflow, OrdersService],
  exports: [OrdersService, PaymentGateway],
})
export class OrdersModule {}
