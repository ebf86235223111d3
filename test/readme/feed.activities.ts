// Fixture for the README's "Evolving workflows" continue-as-new example: a feed of `FEED_PAGES` pages of 2 items.
import { Activity } from 'nestjs-stent';

export const FEED_PAGES = 600;

@Activity()
export class FeedActivities {
  async next(cursor: string): Promise<{ cursor: string; items: number } | null> {
    const page = Number(cursor);
    return page < FEED_PAGES ? { cursor: String(page + 1), items: 2 } : null;
  }
}
