import { StentError } from '../errors/index.js';
import type { Worker, WorkerState } from '../worker/worker.js';

/**
 * Whether this process can do its work: 'ready' (its worker claims work), 'api-only' (no worker; it
 * dispatches and queries), 'starting' (not started yet, or trying again after a failed start),
 * 'unavailable' (start() failed, or the worker's claims keep failing: the database is down or refuses
 * the work), 'draining' or 'stopped'.
 */
export type Readiness = 'starting' | 'ready' | 'unavailable' | 'draining' | 'stopped' | 'api-only';

/** Readiness with the reason behind it. */
export interface ReadinessDetail {
  readiness: Readiness;
  /** 'ready' or 'api-only'. */
  ready: boolean;
  /** The worker's own state, or null in a process without a worker. */
  worker: WorkerState | null;
  /** Why the process is not ready (null when it is). */
  reason: string | null;
  /** The error behind the reason, if any. */
  error?: unknown;
  /** Since when the problem lasts (a failed start, failing claims), if there is one. */
  since: Date | null;
}

/** How start() went: failures are kept until a start succeeds; `retrying` while startInBackground() tries again. */
export class StartupRecord {
  failure: { error: unknown; at: number; attempts: number } | undefined;
  retrying = false;
  started = false;

  failed(error: unknown, now: number): void {
    this.failure = { error, at: this.failure?.at ?? now, attempts: (this.failure?.attempts ?? 0) + 1 };
  }

  succeeded(): void {
    this.failure = undefined;
    this.started = true;
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
const unavailable = (error: unknown) => error instanceof StentError && error.category === 'unavailable';

/**
 * `connecting`: why the store's connection is not open yet, while a start waits for it (the last
 * attempt's error), if any.
 */
export function readinessOf(worker: Worker | null, startup: StartupRecord, connecting?: unknown): ReadinessDetail {
  const state = worker?.state ?? null;
  const detail = (readiness: Readiness, reason: string | null, error?: unknown, since?: number): ReadinessDetail => ({
    readiness,
    ready: readiness === 'ready' || readiness === 'api-only',
    worker: state,
    reason,
    ...(error === undefined ? {} : { error }),
    since: since === undefined ? null : new Date(since),
  });
  if (state === 'draining') return detail('draining', 'draining: finishing work in flight before shutdown');
  if (state === 'stopped') return detail('stopped', 'the worker has stopped');
  const failure = startup.failure;
  if (failure && (state === null || state === 'idle')) {
    const what = unavailable(failure.error) ? 'the database is unreachable' : 'start failed';
    if (startup.retrying) return detail('starting', `${what} (${failure.attempts} attempt(s), trying again): ${messageOf(failure.error)}`, failure.error, failure.at);
    return detail('unavailable', `${what}: ${messageOf(failure.error)}`, failure.error, failure.at);
  }
  if (startup.retrying && connecting !== undefined && (state === null || state === 'idle')) {
    return detail('starting', `the database is unreachable (still trying): ${messageOf(connecting)}`, connecting);
  }
  if (state === null) return startup.retrying ? detail('starting', 'connecting to the database') : detail('api-only', null);
  if (state === 'idle') return detail('starting', startup.retrying ? 'connecting to the database' : 'the worker has not been started');
  const health = worker!.claimHealth;
  if (health.failing) {
    return detail(
      'unavailable',
      `claims failing (${health.failures} round(s) in a row${unavailable(health.lastError) ? ', the database is unreachable' : ''}): ${messageOf(health.lastError)}`,
      health.lastError,
      health.failingSince ?? undefined,
    );
  }
  return detail('ready', null);
}
