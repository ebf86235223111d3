import type { WorkerRecord, WorkflowRoute } from '../../store/index.js';

/** How an operator sees a worker process. */
export type WorkerStatus = 'live' | 'stopped' | 'lost';

export interface WorkerView {
  id: string;
  hostname: string;
  pid: number;
  /** live: heartbeat within its lease; stopped: shut down cleanly; lost: silent for longer than its lease (crashed or cut off). */
  status: WorkerStatus;
  /** Its own last reported state (idle, running, draining, stopped). */
  state: string;
  queues: string[];
  /** Only tasks with one of these tags (empty: any). */
  tags: string[];
  workflows: string[];
  /** Each workflow's dispatch defaults. */
  workflowRoutes: Record<string, WorkflowRoute>;
  activities: string[];
  concurrency: number | null;
  leaseMs: number | null;
  startedAt: Date;
  heartbeatAt: Date;
  lastSeenMsAgo: number;
}

/** Rows of versions that did not record their lease are judged by the default lease. */
const DEFAULT_LEASE_MS = 30_000;

export function workerView(record: WorkerRecord, now: number): WorkerView {
  const silentMs = Math.max(0, now - record.heartbeatAt);
  const status: WorkerStatus = record.state === 'stopped' ? 'stopped' : silentMs > (record.leaseMs ?? DEFAULT_LEASE_MS) ? 'lost' : 'live';
  return {
    id: record.id,
    hostname: record.hostname,
    pid: record.pid,
    status,
    state: record.state,
    queues: record.queues,
    tags: record.tags,
    workflows: record.workflows,
    workflowRoutes: record.workflowRoutes,
    activities: record.activities,
    concurrency: record.concurrency,
    leaseMs: record.leaseMs,
    startedAt: new Date(record.startedAt),
    heartbeatAt: new Date(record.heartbeatAt),
    lastSeenMsAgo: silentMs,
  };
}
