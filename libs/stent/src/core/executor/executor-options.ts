import type { Clock } from '../clock/clock.js';
import type { Duration } from '../api/duration.js';
import type { StentLogger } from '../logger.js';
import type { StentTelemetry } from '../telemetry.js';
import type { StentStore } from '../store/index.js';
import type { StentCodec } from '../codec/payload-codec.js';
import type { WorkerOptions } from '../worker/worker.js';
import type { ExecutionInfo } from './execution-views.js';

export interface StentExecutorOptions {
  store: StentStore;
  /** Worker settings, or false for a process that only dispatches and queries. */
  worker?: WorkerOptions | false;
  logger?: StentLogger;
  clock?: Clock;
  /**
   * Dispatch by name also workflows this process has not registered, when a live worker on the database
   * runs them: with the defaults (queue, priority, tags, maxDuration) that worker recorded. For processes
   * without the workflow code, such as the standalone admin server. Default false: unknown names are refused.
   */
  workflowsFromWorkers?: boolean;
  /** Tracing and metrics (see openTelemetry() for OpenTelemetry). */
  telemetry?: StentTelemetry;
  /**
   * Encodes every stored payload (arguments, results, errors, signals, events, stream chunks, progress,
   * state), e.g. aesGcmCodec(...). Every process on the database that runs or reads them needs it; one
   * without it sees encoded payloads as markers.
   */
  codec?: StentCodec;
}

/** One page of executions: `total` counts every match; `nextCursor` continues after this page (null at the end). */
export interface ExecutionList {
  items: ExecutionInfo[];
  total: number;
  limit: number;
  offset: number;
  nextCursor: string | null;
}

export interface StatsOptions {
  /** Minutes of throughput to report, 1 to 1440. Default 15. */
  throughputMinutes?: number;
}

export interface ListWorkersOptions {
  /** Also list workers stopped or silent within this long. Default '1h'. */
  recent?: Duration;
}
