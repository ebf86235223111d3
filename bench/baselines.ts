import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Measurement } from './report.js';

/**
 * The `vs_commit_limit` of each result line in the run the README's table reports (bench/baselines.json,
 * which the table is written from), keyed by case, database, worker processes, steps and variant.
 */
const FILE = fileURLToPath(new URL('../../bench/baselines.json', import.meta.url));

/** A result falls this far below its recorded ratio before it counts as a regression. */
export const REGRESSION_TOLERANCE = 0.3;

interface BaselineFile {
  recorded: string;
  vs_commit_limit: Record<string, number>;
}

let loaded: BaselineFile | undefined;
function baselines(): BaselineFile {
  loaded ??= existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as BaselineFile) : { recorded: 'none', vs_commit_limit: {} };
  return loaded;
}

/** The key of a result line in bench/baselines.json. */
export function baselineKey(m: Measurement): string {
  const variant = ['via', 'measured', 'variant'].map((name) => (typeof m.extra?.[name] === 'string' ? ` ${name}=${String(m.extra[name])}` : '')).join('');
  return `${m.case} ${m.db} workers=${m.workers} steps=${m.steps}${variant}`;
}

/** True when `ratio` is more than 30% below the recorded one; null when nothing was recorded for the line. */
export function isRegression(m: Measurement, ratio: number): boolean | null {
  const recorded = baselines().vs_commit_limit[baselineKey(m)];
  if (recorded === undefined) return null;
  return ratio < recorded * (1 - REGRESSION_TOLERANCE);
}
