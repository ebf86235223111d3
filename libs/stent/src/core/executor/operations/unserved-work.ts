import type { AdminStore, DueWorkRecord } from '../../store/index.js';
import { workerView, type WorkerView } from './workers-view.js';

/** Workers heard from within this window are considered when looking for unserved work. */
const UNSERVED_WORKER_WINDOW_MS = 10 * 60_000;

/**
 * Work that waits where no live worker will take it: its queue is served by none, or the workers that
 * serve the queue have not registered its workflow or activity. Such work stays due forever in silence
 * unless someone says so (a typo in a queue name, a worker deployed without a class).
 */
export interface UnservedWork {
  kind: 'workflow' | 'activity';
  queue: string;
  name: string;
  /** 'queue': no live worker serves the queue; 'name': live workers serve it, none has registered the name. */
  reason: 'queue' | 'name';
  due: number;
  oldestDueAgeMs: number;
}

export function findUnservedWork(due: DueWorkRecord[], workers: WorkerView[], now: number): UnservedWork[] {
  const live = workers.filter((worker) => worker.status === 'live' && worker.state !== 'stopped' && worker.state !== 'draining');
  const found: UnservedWork[] = [];
  for (const work of due) {
    const onQueue = live.filter((worker) => worker.queues.includes(work.queue));
    const reason = onQueue.length === 0 ? 'queue' : onQueue.some((worker) => registers(worker, work)) ? null : 'name';
    if (!reason) continue;
    found.push({ kind: work.kind, queue: work.queue, name: work.name, reason, due: work.due, oldestDueAgeMs: Math.max(0, now - work.oldestDueAt) });
  }
  return found.sort((a, b) => b.oldestDueAgeMs - a.oldestDueAgeMs);
}

/** Workers of versions that did not record their names serve every name on their queues. */
function registers(worker: WorkerView, work: DueWorkRecord): boolean {
  const names = work.kind === 'workflow' ? worker.workflows : worker.activities;
  return names.length === 0 && worker.workflows.length === 0 && worker.activities.length === 0 ? true : names.includes(work.name);
}

/** One line an operator can act on. */
export function describeUnservedWork(work: UnservedWork): string {
  const what = `${work.due} ${work.kind === 'workflow' ? 'execution(s) of workflow' : 'step(s) of activity'} '${work.name}' on queue '${work.queue}'`;
  const why = work.reason === 'queue' ? `no live worker serves queue '${work.queue}'` : `no live worker serving that queue has registered '${work.name}'`;
  return `${what} wait, oldest for ${Math.round(work.oldestDueAgeMs / 1000)} s: ${why}`;
}

/** Due work that no live worker will take, as the database reads at `now`. */
export async function unservedWorkAt(store: Pick<AdminStore, 'listWorkers' | 'dueWork'>, now: number): Promise<UnservedWork[]> {
  const workers = (await store.listWorkers(now - UNSERVED_WORKER_WINDOW_MS)).map((record) => workerView(record, now));
  return findUnservedWork(await store.dueWork(now), workers, now);
}
