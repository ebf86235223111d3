import { Injectable } from '@nestjs/common';
import type { Probe, Rendition, Video } from './media.js';

/**
 * Stands in for the encoder, the image tools, the object store and the CDN (the only simulated part
 * of the sample). MEDIA_WORK_MS is how long a transcode takes (default 300); the other calls take a
 * third of it.
 */
@Injectable()
export class MediaTools {
  private readonly workMs = Number(process.env.MEDIA_WORK_MS ?? 300);

  async probe(video: Video): Promise<Probe> {
    await this.work(1 / 3);
    return { durationSeconds: 90 + (video.id.length % 7) * 30, height: 1080 };
  }

  async transcode(video: Video, format: string, height: number): Promise<Rendition> {
    await this.work(1);
    return { format, url: `s3://media/${video.id}/${format}.mp4`, megabytes: Math.round(height / 8) };
  }

  async extractFrame(video: Video, atSecond: number): Promise<string> {
    await this.work(1 / 3);
    return `s3://media/${video.id}/frame-${atSecond}s.png`;
  }

  async resizeImage(url: string, width: number): Promise<string> {
    await this.work(1 / 3);
    return url.replace(/frame-.*\.png$/, `thumbnail-${width}.jpg`);
  }

  async publish(video: Video): Promise<string> {
    await this.work(1 / 3);
    return `https://cdn.example.com/watch/${video.id}`;
  }

  async remove(urls: string[]): Promise<void> {
    await this.work(1 / 3);
  }

  private work(share: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.workMs * share));
  }
}
