import { Result, SignalTimeoutError, Stent, Workflow } from 'nestjs-stent';
import { ArtworkActivities } from './artwork.activities.js';
import type { Approval, NotPublished, PipelineSettings, PipelineStage, Publication, Video } from './media.js';
import { PublishingActivities } from './publishing.activities.js';
import { TranscodingActivities } from './transcoding.activities.js';

const FORMATS = [
  { format: '1080p', height: 1080 },
  { format: '720p', height: 720 },
  { format: '480p', height: 480 },
];

/**
 * Probe the upload; transcode every format and make the thumbnail at the same time (parallel branches,
 * the thumbnail's being two steps in a row); wait for a reviewer's decision (a signal, with a time
 * limit); on approval, wait for the release time (a durable sleep) and publish; on rejection or no
 * decision, delete what was made. The waits hold no worker and no memory, and survive restarts.
 */
@Workflow({ maxDuration: '30d' })
export class MediaPipelineWorkflow {
  constructor(
    private readonly transcoding: TranscodingActivities,
    private readonly artwork: ArtworkActivities,
    private readonly publishing: PublishingActivities,
  ) {}

  async run(video: Video, settings: PipelineSettings): Promise<Result<Publication, NotPublished>> {
    const stage = (name: PipelineStage): void => Stent.setProgress({ stage: name });
    stage('probing');
    const probe = await this.transcoding.probe(video);

    stage('transcoding');
    const formats = FORMATS.filter(({ height }) => height <= probe.height);
    const [renditions, thumbnail] = await Promise.all([
      Promise.all(formats.map(({ format, height }) => this.transcoding.transcode(video, format, height))),
      this.artwork.extractFrame(video, Math.round(probe.durationSeconds / 3)).then((frame) => this.artwork.renderThumbnail(frame, 640)),
    ]);

    stage('awaiting approval');
    const approval = await Stent.waitForSignal<Approval>('approval', { timeout: settings.approvalTimeout }).catch((error: unknown): Approval => {
      if (!(error instanceof SignalTimeoutError)) throw error;
      return { approved: false, reviewer: 'nobody', note: `no decision within ${settings.approvalTimeout}` };
    });

    if (!approval.approved) {
      stage('discarding');
      const discarded = await this.publishing.discard(video, [...renditions.map((rendition) => rendition.url), thumbnail]);
      stage('discarded');
      return Result.error({ videoId: video.id, reason: approval.note ?? 'rejected', reviewer: approval.reviewer, discarded });
    }

    stage('waiting for release');
    await Stent.sleep(settings.releaseDelay);
    stage('publishing');
    const url = await this.publishing.publish(video);
    stage('published');
    return Result.ok({ videoId: video.id, url, formats: renditions.map((rendition) => rendition.format), thumbnail, approvedBy: approval.reviewer });
  }
}
