import { Module } from '@nestjs/common';
import { StentModule } from 'nestjs-stent';
import { OrdersModule } from './orders/orders.module.js';

@Module({
  imports: [
    StentModule.forRoot({
      database: { type: 'better-sqlite3', database: 'stent.db' },
      // or { type: 'postgres', url: process.env.DATABASE_URL, schema: 'stent' }
      worker: { concurrency: 10, queues: ['default', 'slow'] }, // false for API-only processes
    }),
    OrdersModule,                                  // @Workflow/@Activity classes are found in any module
  ],
})
export class AppModule {}
