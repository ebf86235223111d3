import { Activity } from 'nestjs-stent';
import { narrate } from '../../shared/activity-trace.js';
import type { Video } from './media.js';
import { MediaTools } from './media-tools.js';

@Activity({ retry: { maxAttempts: 3, initialDelay: '1s' } })
export class ArtworkActivities {
  constructor(private readonly tools: MediaTools) {}

  async extractFrame(video: Video, atSecond: number): Promise<string> {
    const frame = await this.tools.extractFrame(video, atSecond);
    narrate(`thumbnail: frame at ${atSecond}s extracted`);
    return frame;
  }

  async renderThumbnail(frame: string, width: number): Promise<string> {
    const thumbnail = await this.tools.resizeImage(frame, width);
    narrate(`thumbnail: rendered ${width}px wide`);
    return thumbnail;
  }
}
