import { Module } from '@nestjs/common';
import { StentModule } from 'nestjs-stent';
import { OrdersModule } from './orders/orders.module.js';

@Module({
  imports: [
    StentModule.forRoot({
      database: { type: 'better-sqlite3', database: process.env.STENT_DATABASE ?? 'simple-flow.db' },
      worker: { concurrency: 10 },
    }),
    OrdersModule,
  ],
})
export class AppModule {}
