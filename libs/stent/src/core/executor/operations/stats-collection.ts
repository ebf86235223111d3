import { InvalidFilterError } from '../../errors/index.js';
import type { AdminStore } from '../../store/index.js';
import { statsView, type StentStats } from '../execution-views.js';
import { queueLoad, throughputSince, throughputView } from './load-view.js';
import { unservedWorkAt } from './unserved-work.js';

/**
 * The counts StentExecutor.stats reports, read at `now` across every process sharing the database, with
 * `thisWorker` (this process's own worker) beside them. The reads run one after another: on a pool of one
 * connection (SQLite) they would queue anyway.
 */
export async function collectStats(store: AdminStore, now: number, throughputMinutes: number | undefined, thisWorker: StentStats['thisWorker']): Promise<StentStats> {
  const minutes = throughputMinutes ?? 15;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) throw new InvalidFilterError('throughputMinutes', 'must be a whole number from 1 to 1440');
  const stored = await store.stats(now);
  const queues = await store.queueBacklog(now);
  const throughput = await store.throughput(throughputSince(now, minutes));
  const unserved = await unservedWorkAt(store, now);
  return statsView(stored, now, thisWorker, {
    queues: queues.map((queue) => queueLoad(queue, now)),
    throughput: throughputView(throughput, now, minutes),
    unserved,
  });
}
