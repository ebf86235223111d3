import type { Db } from './options.js';

/** What a case measured; steps_per_s and ms_per_step are derived from steps and seconds. */
export interface Measurement {
  case: string;
  db: Db;
  /** Worker processes that did the work (0 when no Stent worker is involved, as for commit_limit). */
  workers: number;
  steps: number;
  seconds: number;
  /** Case-specific fields, printed after the mandatory ones in this order. */
  extra?: Record<string, unknown>;
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** Seconds since `startNs` (a process.hrtime.bigint() reading). */
export function secondsSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}

export function stepsPerSecond(steps: number, seconds: number): number {
  return seconds > 0 ? steps / seconds : 0;
}

/** The JSON line for one result, keys in the DESIGN §8 order. */
export function formatMeasurement(m: Measurement): string {
  const line: Record<string, unknown> = {
    case: m.case,
    db: m.db,
    workers: m.workers,
    steps: m.steps,
    seconds: round(m.seconds, 3),
    steps_per_s: Math.round(stepsPerSecond(m.steps, m.seconds)),
    ms_per_step: m.steps > 0 ? round((m.seconds * 1000) / m.steps, 3) : 0,
  };
  for (const [key, value] of Object.entries(m.extra ?? {})) if (value !== undefined) line[key] = value;
  return JSON.stringify(line);
}

/** Results go to stdout, one JSON object per line; nothing else is written there. */
export function emit(m: Measurement): void {
  process.stdout.write(`${formatMeasurement(m)}\n`);
}

/** Progress and diagnostics go to stderr. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export function mb(bytes: number): number {
  return round(bytes / (1024 * 1024), 1);
}

export { round };
