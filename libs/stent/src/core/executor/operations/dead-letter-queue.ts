import type { Clock } from '../../clock/clock.js';
import { DeadLetterNotFoundError } from '../../errors/index.js';
import type { StentStore } from '../../store/index.js';
import { deadLetterInfo, type DeadLetterInfo } from '../execution-views.js';
import { checkReplayIds, deadLetterDetail, deadLetterQuery, MAX_BULK_REPLAY, replayEach, type BulkReplayOutcome, type DeadLetterDetail, type DeadLetterQuery } from './dead-letter-ops.js';

/** The dead-letter queue (`executor.dlq`): tasks that failed for good, to list, replay or discard. */
export class DeadLetterQueue {
  constructor(
    private readonly store: StentStore,
    private readonly clock: Clock,
  ) {}

  /** Tasks that failed for good, newest first; filter by executionId or name. */
  async list(query: DeadLetterQuery = {}): Promise<{ items: DeadLetterInfo[]; total: number; limit: number; offset: number }> {
    const { filter, page } = deadLetterQuery(query);
    const { items, total } = await this.store.listDeadLetters(filter, page);
    return { total, limit: page.limit, offset: page.offset, items: items.map(deadLetterInfo) };
  }

  /** One dead letter with the workflow and state of its execution. */
  async get(deadLetterId: string): Promise<DeadLetterDetail> {
    const record = await this.store.getDeadLetter(checkId(deadLetterId));
    if (!record) throw new DeadLetterNotFoundError(deadLetterId);
    return deadLetterDetail(record);
  }

  /** Resets the dead-lettered step and revives its (failed) execution from there; earlier steps are not run again. */
  async replay(deadLetterId: string): Promise<{ executionId: string }> {
    return this.store.replayDeadLetter(checkId(deadLetterId), this.clock.now());
  }

  /** Replays each of `ids` (at most MAX_BULK_REPLAY); reports per id what was replayed and what could not be. */
  async replayMany(ids: string[]): Promise<BulkReplayOutcome> {
    return replayEach(checkReplayIds(ids), (id) => this.replay(id));
  }

  /** Replays every dead letter listed when it is called, oldest first. */
  async replayAll(): Promise<BulkReplayOutcome> {
    const ids: string[] = [];
    for (let offset = 0; ; offset += MAX_BULK_REPLAY) {
      const { items } = await this.store.listDeadLetters({}, { limit: MAX_BULK_REPLAY, offset });
      ids.push(...items.map((item) => item.id));
      if (items.length < MAX_BULK_REPLAY) break;
    }
    return replayEach(ids.reverse(), (id) => this.replay(id));
  }

  async discard(deadLetterId: string): Promise<void> {
    return this.store.discardDeadLetter(checkId(deadLetterId));
  }
}

function checkId(deadLetterId: string): string {
  if (typeof deadLetterId !== 'string' || deadLetterId === '') throw new DeadLetterNotFoundError(String(deadLetterId));
  return deadLetterId;
}
