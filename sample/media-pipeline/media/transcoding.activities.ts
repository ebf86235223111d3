import { Activity } from 'nestjs-stent';
import { narrate } from '../../shared/activity-trace.js';
import type { Probe, Rendition, Video } from './media.js';
import { MediaTools } from './media-tools.js';

/** Encoding is slow and costly: each attempt gets a time limit, and a failed one is retried. */
@Activity({ timeout: '10m', retry: { maxAttempts: 3, initialDelay: '5s' } })
export class TranscodingActivities {
  constructor(private readonly tools: MediaTools) {}

  async probe(video: Video): Promise<Probe> {
    const probe = await this.tools.probe(video);
    narrate(`probe: ${video.source} is ${probe.durationSeconds}s at ${probe.height}p`);
    return probe;
  }

  async transcode(video: Video, format: string, height: number): Promise<Rendition> {
    narrate(`transcode ${format}: started`);
    const rendition = await this.tools.transcode(video, format, height);
    narrate(`transcode ${format}: done, ${rendition.megabytes} MB`);
    return rendition;
  }
}
