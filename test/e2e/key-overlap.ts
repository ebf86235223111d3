import { expect } from 'vitest';
import { maxOverlap, type Run } from './fault-env.js';

/**
 * The per-key concurrency check of the flow-limit tests, from the start and end times the worker
 * processes recorded: no key ever had more than `limit` runs at once, each key reached the limit (so the
 * test exercised it), keys did not limit each other (more than `limit` at once overall), and the work was
 * spread over more than one process.
 */
export function expectKeyedOverlap(runs: Run[], prefix: string, keys: string[], limit: number): void {
  // On the machine's monotonic clock, one for all processes (see RunRecord.m).
  const interval = (r: Run) => ({ start: r.startM, end: r.endM! });
  for (const key of keys) {
    const ofKey = runs.filter((r) => r.act === `${prefix}${key}`);
    const overlap = maxOverlap(ofKey.map(interval));
    expect(overlap.max, `${key}: ${overlap.max} at once${overlap.max > limit ? `: ${describeOpenAt(ofKey, overlap.at)}` : ''}`).toBeLessThanOrEqual(limit);
    expect(overlap.max, `${key} reached its limit`).toBe(limit);
  }
  expect(maxOverlap(runs.map(interval)).max).toBeGreaterThan(limit);
  expect(new Set(runs.map((r) => r.pid)).size).toBeGreaterThan(1);
}

/** The runs open at instant `at`, for the failure message: which processes, executions and attempts overlapped, and when. */
function describeOpenAt(runs: Run[], at: number): string {
  const open = runs.filter((r) => r.startM <= at && at < r.endM!).sort((a, b) => a.startM - b.startM);
  return open.map((r) => `pid ${r.pid} execution ${r.executionId} position ${r.position} attempt ${r.attempt} ran ${(r.startM - at).toFixed(2)}..+${(r.endM! - at).toFixed(2)} ms`).join('; ');
}
