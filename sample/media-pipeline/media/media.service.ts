import { Injectable } from '@nestjs/common';
import { StentExecutor } from 'nestjs-stent';
import type { Approval, Video } from './media.js';
import { MediaPipelineWorkflow } from './media-pipeline.workflow.js';

@Injectable()
export class MediaService {
  constructor(private readonly stent: StentExecutor) {}

  /** Starts the pipeline for an upload; submitting the same video again returns the pipeline under way. */
  submit(video: Video): Promise<string> {
    const settings = {
      releaseDelay: process.env.MEDIA_RELEASE_DELAY ?? '2s',
      approvalTimeout: process.env.MEDIA_APPROVAL_TIMEOUT ?? '10m',
    };
    return this.stent.dispatch(MediaPipelineWorkflow, [video, settings], { idempotencyKey: `video:${video.id}` });
  }

  /** A reviewer's decision; kept until the pipeline waits for it. */
  decide(executionId: string, approval: Approval): Promise<void> {
    return this.stent.sendSignal(executionId, 'approval', approval);
  }

  outcome(executionId: string) {
    return this.stent.waitFor<Awaited<ReturnType<MediaPipelineWorkflow['run']>>>(executionId, { timeout: '1h' });
  }
}
