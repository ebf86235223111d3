import { Module } from '@nestjs/common';
import { StentModule } from 'nestjs-stent';
import { MediaModule } from './media/media.module.js';

@Module({
  imports: [
    StentModule.forRoot({
      database: { type: 'better-sqlite3', database: process.env.STENT_DATABASE ?? 'media-pipeline.db' },
      // The lease decides how soon a restarted process takes over what a killed one held.
      worker: { concurrency: 10, lease: process.env.STENT_LEASE ?? '30s' },
    }),
    MediaModule,
  ],
})
export class AppModule {}
