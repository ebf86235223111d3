import { Module } from '@nestjs/common';
import { stentForSample } from '../shared/stent-for-sample.js';
import { MediaModule } from './media/media.module.js';

@Module({
  imports: [stentForSample('media-pipeline.db'), MediaModule],
})
export class AppModule {}
