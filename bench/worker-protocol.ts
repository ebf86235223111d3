import type { StentDatabaseOptions, WorkerOptions } from 'nestjs-stent';
import type { ProcessUsage } from './process-usage.js';

/** Environment variable carrying a worker process's configuration (JSON of WorkerConfig). */
export const WORKER_CONFIG_ENV = 'STENT_BENCH_WORKER';

export interface WorkerConfig {
  database: StentDatabaseOptions;
  worker: WorkerOptions;
  /** With --profile: the process runs with --cpu-prof and writes its profile here when it exits. */
  profileDir?: string;
}

/** What a worker process counted from its executor's events. */
export interface WorkerCounters {
  started: number;
  replays: number;
  finished: number;
  /** Suspensions seen in total. */
  suspensions: number;
  /** Executions whose last event here was a suspension (suspended and not taken up again). */
  suspendedNow: number;
  stepsCompleted: number;
  stepsFailed: number;
}

export interface WorkerSnapshot {
  pid: number;
  rss: number;
  heapUsed: number;
  /** Memory of native objects and buffers V8 knows about. */
  external: number;
  worker: { state: string; runningActivities: number; activeWorkflows: number; concurrency: number };
  counters: WorkerCounters;
  /** CPU and statements of the process so far. */
  usage: ProcessUsage;
}

/** Parent -> worker. */
export type WorkerRequest = { id: number; type: 'stats'; gc?: boolean } | { id: number; type: 'stop' };

/** Worker -> parent. */
export type WorkerMessage =
  | { type: 'ready'; snapshot: WorkerSnapshot }
  | { type: 'failed'; message: string }
  | { type: 'reply'; id: number; snapshot: WorkerSnapshot }
  | { type: 'error'; id: number; message: string };
