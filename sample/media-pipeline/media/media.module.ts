import { Module } from '@nestjs/common';
import { ArtworkActivities } from './artwork.activities.js';
import { MediaPipelineWorkflow } from './media-pipeline.workflow.js';
import { MediaTools } from './media-tools.js';
import { MediaService } from './media.service.js';
import { PublishingActivities } from './publishing.activities.js';
import { TranscodingActivities } from './transcoding.activities.js';

@Module({
  providers: [MediaTools, TranscodingActivities, ArtworkActivities, PublishingActivities, MediaPipelineWorkflow, MediaService],
  exports: [MediaService],
})
export class MediaModule {}
