import { Activity } from 'nestjs-stent';
import { narrate } from '../../shared/activity-trace.js';
import type { Video } from './media.js';
import { MediaTools } from './media-tools.js';

@Activity({ retry: { maxAttempts: 10, initialDelay: '1s', maxDelay: '1m' } })
export class PublishingActivities {
  constructor(private readonly tools: MediaTools) {}

  async publish(video: Video): Promise<string> {
    const url = await this.tools.publish(video);
    narrate(`publish: "${video.title}" is live at ${url}`);
    return url;
  }

  /** Deletes the files a rejected video left behind. */
  async discard(video: Video, urls: string[]): Promise<string[]> {
    await this.tools.remove(urls);
    narrate(`discard: removed ${urls.length} files of ${video.id}`);
    return urls;
  }
}
